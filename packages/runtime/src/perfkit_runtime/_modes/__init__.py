"""The delivery modes: how an agent with mail gets to run (one module per mode)."""
