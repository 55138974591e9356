from twisted.application.service import ServiceMaker

synapse_modhost = ServiceMaker(
    "synapse-modhost",
    "synapse_modhost.tap",
    "Run Synapse modules from a homeserver.yaml, without Synapse.",
    "synapse-modhost",
)
