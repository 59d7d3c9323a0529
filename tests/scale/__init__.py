"""Past one machine: runs fanned out to Ray workers (``--executor ray``)."""
