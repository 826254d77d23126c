from django.apps import AppConfig


class ReadmodelsConfig(AppConfig):
    name = "readmodels"
    verbose_name = "Read models and event log"

    def ready(self):
        # The one link from the event log to the worker: core announces each commit that
        # recorded events, and the read side answers by waking the projections. (core never
        # imports the read side.)
        from core.eventlog import events_committed
        from readmodels import tasks

        events_committed.connect(tasks.wake_on_commit, dispatch_uid="readmodels.wake_projections")
