"""The dashboard: a page the gateway serves for analysts, retention and service leads."""
