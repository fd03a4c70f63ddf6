"""The reporting domain: report calendars and KPI arithmetic, with no I/O."""
