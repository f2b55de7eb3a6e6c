"""Transport: StUF-GGk SOAP over Digikoppeling (TLS, WS-Addressing, WS-Security)."""
