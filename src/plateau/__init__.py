"""plateau: maintenance therapy in multiple myeloma, from the evidence to the bedside.

Layers (lower never import higher):

``meta``                 numerical core (NumPy/SciPy only, no I/O)
``evidence``             schema, bundled data, validation, queries
``analysis``             declarative analysis specs: evidence -> meta -> results
``decide``, ``monitor``  patient-level decision support and maintenance monitoring
``report``, ``store``, ``web``, ``cli``  the edges

plateau is decision support, not a prescription.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("plateau")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
