"""Every change policylib makes to TensorFlow or Keras, and the one place that makes them.

policylib changes a few process-wide things in TensorFlow and Keras so that
TF-Agents' saves, code and output habits work unchanged. Each change is a
`Patch` in `PATCHES` below, whose docstring says what it changes, why, which
versions need it and what breaks without it. `install(stage)` installs the
patches of a stage, each once:

- `"import"`: at `import policylib` (`policylib/__init__.py`). These patches
  wait for TensorFlow (an import hook, a switch read when a class is defined),
  so `import policylib` itself imports no TensorFlow.
- `"networks"`: when `policylib.networks.network` is imported, i.e. when a
  process builds TF-Agents-style networks (Keras is loaded by then anyway).

No other module installs a patch on import. Set `POLICYLIB_NO_TF_PATCHES=1`
(any value but empty or `0`) before importing policylib to install none:
TensorFlow and Keras then behave exactly as without policylib, at the costs
each patch lists under "Without it".

Not patches, so not listed: `policylib.base.lazy_tf.Module`, the base of py
metrics and NumPy replay storage, becomes `tf.Module` (a policylib class, not
TensorFlow's, is rebased) once TensorFlow is loaded; the opt-out does not
touch it, since checkpoints need it.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from collections.abc import Callable
from types import ModuleType
from typing import Literal

from policylib.base import import_hooks

__all__ = ["OPT_OUT", "PATCHES", "Patch", "install", "installed", "opted_out"]

OPT_OUT = "POLICYLIB_NO_TF_PATCHES"

Stage = Literal["import", "networks"]


@dataclasses.dataclass(frozen=True)
class Patch:
    """One change to TensorFlow or Keras.

    Attributes:
      name: a short identifier.
      stage: when it is installed (see the module docstring).
      apply: installs it; each is idempotent on its own too.
      reason: what it changes, why, which versions need it, what breaks
        without it (the docstring of the function that defines it).
    """

    name: str
    stage: Stage
    apply: Callable[[], None]
    reason: str


def _tensorflow_startup_logs() -> None:
    """Drops TensorFlow's routine native start-up lines from stderr.

    Changes: a one-shot `sys.meta_path` hook wraps the first import of
    `tensorflow`, pointing file descriptor 2 at a temporary file while TF
    loads and lists its devices, then writes back every line that is not
    routine (`policylib._tf_startup`). Why: TF 2.16+ prints absl lines that no
    setting hides (`TF_CPP_MIN_LOG_LEVEL` included) and `failed call to cuInit`
    on every CPU-only machine, filling every command's and notebook's output.
    Needed for TF 2.16-2.21 (the absl start-up logging); own opt-out
    `POLICYLIB_TF_STARTUP_LOGS=1`. Without it: those lines show; nothing else.
    """
    from policylib import _tf_startup

    _tf_startup.install()


def _type_spec_lookup_fallback() -> None:
    """Lets plain `tf.saved_model.load` decode policy saves' distribution type specs.

    Changes: wraps the private `tensorflow.python.framework.type_spec_registry
    .lookup` (when that module loads) so that a miss on a `tfp.` or
    `tf_agents.` name imports policylib's distributions once and looks again
    (`policylib._load_hook`). Why: a policy SavedModel names the type specs of
    the distributions it returns; TF decodes a name only once its class is
    registered, and importing TFP's distributions at `import policylib` costs
    seconds. Needed for every TF 2.x with TFP auto-composite distributions.
    Without it: `tf.saved_model.load(path)` of a policy save fails with
    "No TypeSpec has been registered" unless the user first imports
    `policylib.policies.saved_policy_files` (policylib's own loaders do).
    """
    from policylib import _load_hook

    _load_hook.install()


def _tf_agents_type_spec_names() -> None:
    """Registers policylib's distributions under TF-Agents' type-spec names.

    Changes: as each policylib composite distribution (`MaskedCategorical`,
    `ShiftedCategorical`, `GumbelSoftmax`, ...) is defined, its type spec is
    removed from TF's private registry dictionaries under the TFP-derived
    name (`policylib.distributions.masked....`) and registered as
    `tf_agents.distributions.masked...._ACTTypeSpec`
    (`policylib.distributions.type_spec_names`). Why: the registered name is
    written into every SavedModel; TF-Agents' names make policylib's saves
    load in TF-Agents and TF-Agents' saves load in policylib. Needed for
    every TF 2.x / TFP 0.2x (one class, one name). Without it: saves record
    `policylib.` names, which TF-Agents cannot load, and TF-Agents saves that
    return these distributions do not load in policylib.
    """
    from policylib.distributions import type_spec_names

    type_spec_names.enable()


def _saved_model_notices() -> None:
    """Keeps TensorFlow's routine notices out of policy saves and loads.

    Changes: adds two `logging.Filter`s (absl's "not a valid tf.function
    parameter name" and tensorflow's "Assets written to"), which drop only
    while a thread runs a policylib save or load, and, on each save, a
    `warnings` filter ignoring `nested_structure_coder`'s "Encoding a
    StructuredValue with type ..._ACTTypeSpec" `UserWarning`
    (`policylib.base.quiet`). Why: every policy save prints them, and none
    says anything a user can act on (the warning says loading needs the type
    registered, which the fallback above ensures). The warning filter stays
    in the process's filter list, since Python's filters cannot be limited
    to one thread; it is narrow (that message from that module). Needed for
    TF 2.x SavedModels of policies. Without it: each save prints these
    notices (several per save).
    """
    from policylib.base import quiet

    quiet.install()


def _tf_protocol_instance_checks() -> None:
    """Answers `isinstance` against TensorFlow's runtime protocols from members collected once.

    Changes: before Python 3.12, the four `typing.Protocol` classes TensorFlow
    checks at run time (`CustomNestProtocol`, `TensorProtocol`,
    `CompositeTensorGradientProtocol`, `IsTensorLike`) get a
    subclass of `typing._ProtocolMeta` as their metaclass, whose
    `__instancecheck__` collects the protocol's members once instead of on
    every call and otherwise answers as Python's does
    (`policylib._tf_fast_paths.protocol_checks`); nothing on Python 3.12+,
    which collects them once itself. Why: `tf.nest` and `tf.function` ask
    these checks per node and per argument, ~25 µs each on Python 3.11: ~90 µs
    of each `next()` on a replay-buffer dataset and ~50 µs of each call of a
    user's `tf.function(policy.action)` (issue 35's training loop). Why global:
    the calls are in TensorFlow, on the user's calls. Without it: the same
    answers, slower.
    """
    from policylib import _tf_fast_paths

    _tf_fast_paths.protocol_checks()


def _tf_numpy_version_check() -> None:
    """Makes TensorFlow's `numpy_compat.np_asarray` read the NumPy version once.

    Changes: with NumPy 2, `tensorflow.python.util.numpy_compat.np_asarray`
    becomes the same code without its per-call `np.lib.NumpyVersion(np.__version__)`
    test (`policylib._tf_fast_paths.numpy_version_checks`); nothing with NumPy
    1. Why: the test parses the version string each call (~5.5 µs), and
    `tf.numpy_function` calls it per output, so each `TFPyEnvironment` step
    paid ~22 µs. Why global: the caller is TensorFlow's `tf.numpy_function`
    runtime. Without it: the same arrays, slower.
    """
    from policylib import _tf_fast_paths

    _tf_fast_paths.numpy_version_checks()


def _tf_dataset_element_packing() -> None:
    """Rebuilds eager `tf.data` elements with a packer built once per iterator.

    Changes: `tf.data`'s `OwnedIterator._next_internal`, eagerly and for an
    element that is a nest of plain `tf.TensorSpec`s in tuples, namedtuples
    and dicts, runs TensorFlow's `iterator_get_next` op and packs its tensors
    with a function built once from the element spec, instead of TensorFlow's
    generic nest rebuild and per-leaf `set_shape` (the op has already checked
    the shapes); every other element, and graph mode, take TensorFlow's code
    (`policylib._tf_fast_paths.dataset_element_packing`). Why: the rebuild
    costs ~150 µs per element for TF-Agents' `(Trajectory, BufferInfo)`, paid
    per gradient step by the `next(iterator)` of every TF-Agents training loop.
    Why global: the iterator is `tf.data`'s, made by the user's
    `iter(dataset.prefetch(...))`. Without it: the same elements, slower.
    """
    from policylib import _tf_fast_paths

    _tf_fast_paths.dataset_element_packing()


def _tf_function_remembered_calls() -> None:
    """Lets a plain `tf.function` reuse the concrete function of an earlier, alike eager call.

    Changes: once TensorFlow is imported, `tf.function`'s `Function.__call__`
    (exactly that class; subclasses such as a SavedModel's restored functions
    keep theirs) first looks for an earlier eager call of the same function
    whose arguments were tensors (or None) of the same dtypes, shapes and
    structure, in the same function context (device, strategy, ...); then it
    binds, flattens and calls that call's concrete function as TensorFlow's
    own `tracing_compilation.call_function` does after its lookup. Any other
    call (Python values, variables, first calls, graph mode,
    `run_functions_eagerly`) takes TensorFlow's path, which does all tracing
    (`policylib.utils.tracing.remembered_call`, which `common.function` uses
    anyway). Why: TF 2.21 rebuilds every argument's trace type and hashes the
    whole function type on each call, ~150-300 us, more than a CartPole step or
    a batch-1 policy's work: a user's `tf.function(policy.action)` took 1.6-1.9x
    the time of the same math in a one-tensor `tf.function` (issue 35's
    `policy_bench` case 4b). Why global: the `tf.function` is the user's.
    Without it: the same results, each call slower.
    """
    from policylib import _tf_fast_paths

    _tf_fast_paths.tf_function_calls()


def _frozen_import_time_objects() -> None:
    """Keeps TensorFlow's and TFP's module-level objects out of full garbage collections.

    Changes: as soon as `tensorflow`, and again `tensorflow_probability`, has
    finished importing, `gc.freeze()` moves every object Python's cycle
    collector then tracks into its permanent generation, which later
    collections skip: ~350k objects from TensorFlow and ~100k from TFP
    (modules, classes, functions and their dicts, which live as long as the
    process anyway). Why: CPython's full ("generation 2") collection walks
    every tracked object, ~0.4 µs each: these add ~200 ms to each on one CPU
    (a SAC agent with its buffer and traced functions adds ~35 ms). A
    training loop meets one after its first `tf.function` traces (issue 35: a
    220 ms stall in one collect call of a 2,000-step SAC run, none once they
    are frozen). Why global: the collector is the
    process's. Costs: whatever the process had created before these imports
    is frozen too; reference counting still frees it, but a reference cycle
    among frozen objects is never collected, and `gc.get_objects()` no longer
    lists them (`gc.unfreeze()` undoes it). Without it: the same program,
    with a ~0.2 s pause at each full collection.
    """
    for module in ("tensorflow", "tensorflow_probability"):
        import_hooks.after_import(module, _freeze_tracked_objects)


def _freeze_tracked_objects(module: ModuleType) -> None:
    """`after_import` callback: freezes everything the collector tracks now."""
    gc.freeze()


def _keras_dense_integer_units() -> None:
    """Lets Keras 3's `Dense` take NumPy-integer and whole-float unit counts.

    Changes: replaces `tf.keras.layers.Dense.__init__` under Keras 3 with a
    wrapper that converts a whole-number NumPy or float `units` to `int`
    (`policylib.utils.keras_compat.accept_numpy_integer_units`); nothing
    under Keras 2 (tf-keras), where `Dense` does this itself. Why: TF-Agents
    code and tutorials write `Dense(spec.maximum - spec.minimum + 1)`, a
    NumPy integer, which Keras 3 (TF 2.16+) rejects ("expected a positive
    integer"). Why global: the failing call is in the user's code, building
    a layer before any policylib function sees it, so no narrower scope
    reaches it; policylib's own networks pass `int`s and need no patch. It is
    installed only once TF-Agents-style networks are imported, never by
    `import policylib` alone, and only changes inputs Keras 3 would reject.
    Without it: such code raises `ValueError` under Keras 3.
    """
    from policylib.utils import keras_compat

    keras_compat.accept_numpy_integer_units()


def _keras_callable_optimizer_variables() -> None:
    """Makes Keras 3's `optimizer.variables` callable, as tf-keras's is.

    Changes: under Keras 3, the `variables` property of Keras' base optimizer
    returns a list subclass (`keras_compat.OptimizerVariables`) that is the
    same list and can also be called; the call returns what tf-keras's
    `optimizer.variables()` returns (without the learning-rate variable,
    which tf-keras does not list). Nothing under Keras 2 (tf-keras), whose
    `variables` already is a callable list. Why: TF-Agents code and tests
    written for tf-keras call `optimizer.variables()` (e.g. `train/learner_test`
    compares optimizer variables across checkpoints), and Keras 3 (TF 2.16+)
    made it a plain list. Why global: the calls are in the user's code, on
    optimizers the user built. Installed with TF-Agents-style networks, like
    the `Dense` patch; a list in every other respect.
    Without it: `optimizer.variables()` raises "'list' object is not callable".
    """
    from policylib.utils import keras_compat

    keras_compat.callable_optimizer_variables()


def _tf1_rnn_cells_from_tf_keras() -> None:
    """Serves `tf.compat.v1.nn.rnn_cell` from tf-keras under Keras 3.

    Changes: under Keras 3, the `rnn_cell` attribute of TensorFlow's
    `tf.compat.v1.nn` (and its `sys.modules` entry) becomes a lazy module that
    imports tf-keras's TF1 cells (`LSTMCell`, `GRUCell`, `MultiRNNCell`, ...)
    on first use (`keras_compat.route_tf1_rnn_cells_to_tf_keras`); nothing
    under Keras 2 or without tf-keras. Why: TensorFlow looks those names up
    through `tf.keras`, and Keras 3 (TF 2.16+) has none, so TF1-style code
    that `DynamicUnroll` and `tf.compat.v1.nn.dynamic_rnn` still run (TF-Agents'
    `dynamic_unroll_layer` tests, older recurrent networks) raises before it
    starts. tf-keras is installed with policylib (TFP needs it). Why global:
    the lookup is in the user's code. Installed with networks: a process that
    only imports `policylib.keras_layers` (below `_tf_patches` in the layers)
    does not get it. Without it: `tf.compat.v1.nn.rnn_cell.
    LSTMCell(...)` raises "`LSTMCell` is not available with Keras 3".
    """
    from policylib.utils import keras_compat

    keras_compat.route_tf1_rnn_cells_to_tf_keras()


def _keras_tf_random_generator_switch() -> None:
    """Gives Keras 3 tf-keras's `tf.keras.backend.experimental` random switch.

    Changes: under Keras 3 (which has no `backend.experimental`),
    `tf.keras.backend.experimental` becomes a small module with
    `enable_tf_random_generator` / `disable_tf_random_generator` (no-ops) and
    `is_tf_random_generator_enabled` (True)
    (`keras_compat.tf_random_generator_switch`); nothing under Keras 2. Why:
    TF-Agents code calls `tf.keras.backend.experimental.enable_tf_random_generator()`
    at import (its CQL-SAC tests and scripts) so that Keras draws from
    `tf.random.Generator`; Keras 3 always draws from its own seed generators,
    so the switch has nothing to do. Why global: the call is in the user's
    module, before any policylib function runs. Without it: such modules fail
    to import with "module ... has no attribute 'experimental'".
    """
    from policylib.utils import keras_compat

    keras_compat.tf_random_generator_switch()


def _patch(function: Callable[[], None], stage: Stage) -> Patch:
    name = function.__name__.lstrip("_")
    return Patch(name, stage, function, function.__doc__ or "")


PATCHES: tuple[Patch, ...] = (
    _patch(_tensorflow_startup_logs, "import"),
    _patch(_type_spec_lookup_fallback, "import"),
    _patch(_tf_agents_type_spec_names, "import"),
    _patch(_saved_model_notices, "import"),
    _patch(_tf_protocol_instance_checks, "import"),
    _patch(_tf_numpy_version_check, "import"),
    _patch(_tf_dataset_element_packing, "import"),
    _patch(_tf_function_remembered_calls, "import"),
    _patch(_frozen_import_time_objects, "import"),
    _patch(_keras_dense_integer_units, "networks"),
    _patch(_keras_callable_optimizer_variables, "networks"),
    _patch(_tf1_rnn_cells_from_tf_keras, "networks"),
    _patch(_keras_tf_random_generator_switch, "networks"),
)

_installed: list[str] = []


def opted_out() -> bool:
    """Whether `POLICYLIB_NO_TF_PATCHES` asks for no patches."""
    return os.environ.get(OPT_OUT, "") not in ("", "0")


def install(stage: Stage = "import") -> None:
    """Installs each patch of `stage` once, unless the user opted out."""
    if opted_out():
        return
    for patch in PATCHES:
        if patch.stage == stage and patch.name not in _installed:
            patch.apply()
            _installed.append(patch.name)


def installed() -> tuple[str, ...]:
    """The names of the patches installed in this process, in order."""
    return tuple(_installed)
