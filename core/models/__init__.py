"""All tables. Later areas (integration state, jobs, mapping) add modules here."""

from pazar.models import (
    commerce,  # noqa: F401 - registers the local commerce tables
    ops,  # noqa: F401 - listing snapshots, dashboard history, alarms
)
from pazar.models.base import Base
from pazar.models.channels import Channel, ConfigChange
from pazar.models.jobs import ApiToken, ApiTokenEvent, Daemon, Job, ScheduleTick  # noqa: F401
from pazar.models.marketplace import (  # noqa: F401
    ChannelMapping,
    MarketplaceAttribute,
    MarketplaceAttributeValue,
    MarketplaceCategory,
)
from pazar.models.runs import Run, RunLog
from pazar.models.state import BatchRequest, FailedIntegration, IntegrationAction  # noqa: F401
from pazar.models.web import StoredFile, WebAudit, WebSecret, WebUser  # noqa: F401

__all__ = ["Base", "Channel", "ConfigChange", "Run", "RunLog"]
