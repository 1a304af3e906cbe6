"""Experimental parts of TF-Agents' API: `experimental.distributed`."""
