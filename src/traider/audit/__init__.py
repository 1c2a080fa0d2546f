"""The append-only, hash-chained audit log."""

from traider.audit.chain import AuditEvent, ChainBreak, VerifyReport, append, verify

__all__ = ["AuditEvent", "ChainBreak", "VerifyReport", "append", "verify"]
