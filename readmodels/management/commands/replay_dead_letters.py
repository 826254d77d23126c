from django.core.management.base import BaseCommand, CommandError

from readmodels import engine
from readmodels.projections import PROJECTIONS


class Command(BaseCommand):
    help = "Apply dead-lettered events again (after the cause is fixed)."

    def add_arguments(self, parser):
        parser.add_argument("--projection", action="append", choices=list(PROJECTIONS))

    def handle(self, *args, projection, **options):
        resolved, failing = engine.replay_dead_letters(projection)
        self.stdout.write(f"resolved {resolved}, still failing {failing}")
        if failing:
            raise CommandError(f"{failing} dead letters still fail", returncode=1)
