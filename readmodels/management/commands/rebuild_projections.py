from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from readmodels import engine, rebuild
from readmodels.projections import PROJECTIONS, get_projections


class Command(BaseCommand):
    help = (
        "Rebuild summary tables as a fold of the event log, readers undisturbed; or, with "
        "--verify, compare the live rows, the event log's fold and a recompute from the "
        "normalized tables, and report which source disagrees, row by row."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "names", nargs="*", metavar="NAME", help=f"of: {', '.join(PROJECTIONS)}"
        )
        parser.add_argument(
            "--verify", action="store_true", help="change nothing; print drift, exit 1 if any"
        )

    def handle(self, *args, names, verify, **options):
        # Positional arguments arrive in options["names"], not in *args.
        try:
            projections = get_projections(names)
        except KeyError as error:
            raise CommandError(error.args[0]) from None
        if verify:
            self._verify(projections)
            return
        for projection in projections:
            with tqdm(desc=projection.name, unit="rows", file=self.stderr._out) as bar:

                def progress(done, total, bar=bar):
                    bar.total = total
                    bar.update(done - bar.n)

                rows = rebuild.rebuild(projection, progress=progress)
            self.stdout.write(f"{projection.name}: {rows} rows")

    def _verify(self, projections):
        drifted = failed = 0
        for projection in projections:
            try:
                drift = rebuild.verify(projection)
            except (DatabaseError, RuntimeError, engine.ProjectionFailed) as error:
                # A fold or a recompute that cannot run (an overflowing figure, a log that
                # keeps moving) is a finding to report, not a traceback.
                failed += 1
                self.stdout.write(f"{projection.name}: could not verify: {error}".strip())
                continue
            drifted += len(drift)
            self.stdout.write(f"{projection.name}: {len(drift) or 'no'} drifted rows")
            for row in drift:
                self.stdout.write(f"  {row}")
        if drifted or failed:
            raise CommandError(
                f"{drifted} rows drifted"
                + (f", {failed} projections not verified" if failed else ""),
                returncode=1,
            )
