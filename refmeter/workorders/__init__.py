"""The group's business processes: new install, change and closure, from application to archive."""
