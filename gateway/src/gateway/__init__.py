"""The FastAPI gateway: the public REST door of the CRM suite, translating REST to the services' gRPC."""
