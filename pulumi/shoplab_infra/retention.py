"""The retention policy: which resources outlive `pulumi up` and `pulumi destroy`, and the one
switch that lets a throwaway lab account delete them all (stack config ``shoplab:labTeardown``).

By default (``labTeardown: false``):

- ``protect=True`` (``keep``) on every resource holding data that the repository cannot
  recreate: the RDS instance, the ElastiCache replication group, stage 1's PostgreSQL volume
  (``data_volume.py``), the ECR repository (the images that ran) and the k3s host (its root
  volume holds the cluster's state). The engine refuses to delete or replace a protected
  resource: a plan that would do so fails before it changes anything, and `pulumi destroy`
  refuses to run (`--exclude-protected` deletes everything else).
- RDS (``database``): deletion protection on the instance itself, a final snapshot named
  ``shoplab-<stage>-<component>-final`` (``shoplab-stage2-db-final``), automated backups kept
  for at least ``MIN_BACKUP_RETENTION_DAYS`` and kept after the instance is deleted.
- the data volume (``volume``): a snapshot is taken before it is deleted.
- ECR (``repository``): a repository that still holds images is not deleted.

``labTeardown: true`` turns every item above off (no protection, no deletion protection, no
final snapshots, automated backups deleted with the instance, images deleted with their
repository): set it, `pulumi up`, then `pulumi destroy` removes the stack and its data. A lab
database is still backed up while it lives (the policy pack's ``rds-backed-up`` holds on
every stack).
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

MIN_BACKUP_RETENTION_DAYS = 7


@dataclass(frozen=True)
class Retention:
    stage: str
    lab_teardown: bool = False
    backup_retention_days: int = MIN_BACKUP_RETENTION_DAYS

    def __post_init__(self):
        if not self.lab_teardown and self.backup_retention_days < MIN_BACKUP_RETENTION_DAYS:
            raise ValueError(
                f"dbBackupRetentionDays {self.backup_retention_days}: the retention policy keeps "
                f"RDS backups at least {MIN_BACKUP_RETENTION_DAYS} days (retention.py); only "
                "shoplab:labTeardown turns backups off")

    @property
    def protect(self) -> bool:
        return not self.lab_teardown

    def keep(self, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
        """``opts`` for a resource that holds data: protected unless the lab tears down."""
        return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=self.protect))

    def database(self, component: str) -> dict:
        """The ``aws.rds.Instance`` arguments that decide what survives its deletion."""
        if self.lab_teardown:
            return {"deletion_protection": False, "skip_final_snapshot": True,
                    "final_snapshot_identifier": None,
                    "backup_retention_period": self.backup_retention_days,
                    "delete_automated_backups": True}
        return {"deletion_protection": True, "skip_final_snapshot": False,
                "final_snapshot_identifier": f"shoplab-{self.stage}-{component}-final",
                "backup_retention_period": self.backup_retention_days,
                "delete_automated_backups": False}

    def volume(self) -> dict:
        """The ``aws.ebs.Volume`` arguments that decide what survives its deletion."""
        return {"final_snapshot": self.protect}

    def repository(self) -> dict:
        """The ``aws.ecr.Repository`` arguments that decide what survives its deletion."""
        return {"force_delete": self.lab_teardown}
