"""All tables. Later areas (integration state, jobs, mapping) add modules here."""

from core.models import commerce  # noqa: F401 - registers the local commerce tables
from core.models.base import Base
from core.models.channels import Channel, ConfigChange
from core.models.jobs import ApiToken, Daemon, Job, ScheduleTick  # noqa: F401
from core.models.marketplace import (  # noqa: F401
    ChannelMapping,
    MarketplaceAttribute,
    MarketplaceAttributeValue,
    MarketplaceCategory,
)
from core.models.runs import Run, RunLog
from core.models.state import BatchRequest, FailedIntegration, IntegrationAction  # noqa: F401

__all__ = ["Base", "Channel", "ConfigChange", "Run", "RunLog"]
