"""The suite's shared platform: settings, telemetry, gRPC bootstrap, events, outbox, inbox, jobs, errors."""
