"""synapse-modhost's own tests (trial; they also run under pytest)."""

import logging

# Warnings the tests provoke on purpose would otherwise reach stderr through logging's
# last-resort handler; tests that check log output attach their own handlers.
logging.getLogger("synapse_modhost").addHandler(logging.NullHandler())
