"""``python -m synapse_modhost -c homeserver.yaml``."""

from synapse_modhost.cli import main

if __name__ == "__main__":
    main()
