"""The project's version, and the Synapse version whose behaviour it reproduces."""

__version__ = "0.1.0"

#: The Synapse release this host behaves like; ``synapse.__version__`` reports it so
#: modules that gate features on Synapse's version see the one they are tested against.
SYNAPSE_VERSION = "1.163.2"
