"""Jobs: the queue every trigger feeds (schedules, config changes, CLI) and daemons drain."""
