"""Built-in detectors, one module each (registered under ``apisight.detectors``)."""
