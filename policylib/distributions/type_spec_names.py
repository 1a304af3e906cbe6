"""Registers policylib's composite distributions under TF-Agents' type-spec names.

A SavedModel records each composite tensor in a function's output by the
registered name of its `TypeSpec`. TFP derives that name from the class's
module (`policylib.distributions.masked.MaskedCategorical_ACTTypeSpec`), so a
policylib save would need policylib to load, and a TF-Agents save (which
records `tf_agents.distributions.masked.MaskedCategorical_ACTTypeSpec`) would
not load in policylib. Registering our classes under TF-Agents' names makes
saves cross both ways: each library decodes the name into its own class, whose
constructor takes the same parameters.

One class has one registered name, so if TF-Agents itself is imported after
policylib in the same process, its registration of these names wins.

This edits TensorFlow's private registry, so it is one of policylib's
TensorFlow patches: `policylib._tf_patches` turns it on (`enable`) at
`import policylib`, unless `POLICYLIB_NO_TF_PATCHES=1` is set; then each class
keeps the name TFP gives it.
"""

from __future__ import annotations

__all__ = ["enable", "enabled", "register_under_tf_agents_name"]

# Set by `policylib._tf_patches`, which decides whether registries are edited.
_ENABLED: list[bool] = []


def enable() -> None:
    """Makes `register_under_tf_agents_name` re-register (idempotent)."""
    if not _ENABLED:
        _ENABLED.append(True)


def enabled() -> bool:
    """Whether classes are re-registered under TF-Agents' names."""
    return bool(_ENABLED)


def register_under_tf_agents_name(cls: type, tf_agents_module: str) -> type:
    """Re-registers the auto-composite type spec of `cls` as TF-Agents names it.

    Args:
      cls: a TFP auto-composite distribution class defined by policylib.
      tf_agents_module: the module TF-Agents defines its twin class in, e.g.
        `"tf_agents.distributions.masked"`.

    Returns:
      `cls`, so this can be used after the class statement or as a decorator.
      Unchanged (under TFP's name) unless `enable` was called.
    """
    if not _ENABLED:
        return cls
    from tensorflow.python.framework import type_spec_registry
    from tensorflow_probability.python.internal import auto_composite_tensor

    suffix = f"{cls.__name__}_ACTTypeSpec"
    old_name = f"{cls.__module__}.{suffix}"
    new_name = f"{tf_agents_module}.{suffix}"
    spec_cls = type_spec_registry.lookup(old_name)
    # The registry maps one class to one name: drop the module-derived one.
    type_spec_registry._TYPE_SPEC_TO_NAME.pop(spec_cls, None)  # noqa: SLF001
    type_spec_registry._NAME_TO_TYPE_SPEC.pop(old_name, None)  # noqa: SLF001
    auto_composite_tensor.type_spec_register(new_name)(spec_cls)
    return cls
