"""Training: compile/fit/evaluate/predict, the audit, freeze/unfreeze."""

from thawnet.training.weight_audit import AuditError, AuditReport, audit
from thawnet.trainability.freeze import freeze, unfreeze

__all__ = ["AuditError", "AuditReport", "audit", "freeze", "unfreeze"]
