"""AiiDA plugin of wannorb (optional extra ``pip install "wannorb[aiida]"``, aiida-core 2.x).

Processes (entry points in ``pyproject.toml``):

* ``wannorb.hall``  (``aiida.calculations``) — calcfunction around :func:`wannorb.api.hall`
* ``wannorb.sweep`` (``aiida.calculations``) — calcfunction around :func:`wannorb.sweep.sweep`
* ``wannorb.build_system`` (``aiida.calculations``) — calcfunction around ``workflows.pipeline.make``
  (GPAW; ``StructureData`` → ``FolderData`` of the saved data folder)
* ``wannorb.converge`` (``aiida.workflows``) — ``hall`` on meshes doubling until σ moves < rtol
* ``wannorb.from_structure`` (``aiida.workflows``) — ``build_system`` then ``hall``

Everything runs in-process with ``aiida.engine.run`` on a profile without services
(``verdi presto``: sqlite storage, no broker). See docs/aiida.md.

Importing ``wannorb`` never imports this package; importing this package imports aiida.
"""
try:
    import aiida  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("wannorb.aiida needs aiida-core: pip install \"wannorb[aiida]\" "
                      "(or pip install \".[aiida]\" in a checkout)") from exc

from .calculations import build_system, hall, sweep  # noqa: E402
from .workchains import ConvergeWorkChain, FromStructureWorkChain  # noqa: E402

__all__ = ["hall", "sweep", "build_system", "ConvergeWorkChain", "FromStructureWorkChain"]
