from django.core.management.base import BaseCommand

from readmodels import replicas, status, tasks


class Command(BaseCommand):
    help = (
        "Per projection: position, events and seconds behind, dead letters, last run; "
        "per read replica: its replay lag and whether it serves reads."
    )

    def handle(self, *args, **options):
        statuses, holders = status.projection_status()
        header = f"{'projection':<18} {'position':<16} {'behind':>7} {'seconds':>8} {'dead':>5}  last run"
        self.stdout.write(header)
        for s in statuses:
            last_run = s.last_run_at.isoformat(timespec="seconds") if s.last_run_at else "never"
            self.stdout.write(
                f"{s.name:<18} {s.position:<16} {s.events_behind:>7} "
                f"{s.seconds_behind:>8.1f} {s.dead_letters:>5}  {last_run}"
            )
        for holder in holders:
            self.stdout.write(
                self.style.WARNING(
                    f"held back by backend pid {holder.pid}: transaction open {holder.seconds:.1f}s "
                    f"({holder.state}): {holder.query}"
                )
            )
        for replica in replicas.report():
            lag = "-" if replica.lag_seconds is None else f"{replica.lag_seconds:.1f} s"
            line = f"replica {replica.alias:<10} {replica.status:<12} lag {lag}"
            if replica.in_rotation:
                self.stdout.write(line)
            else:
                reason = f": {replica.error}" if replica.error else ""
                self.stdout.write(self.style.WARNING(f"{line}, out of rotation{reason}"))
        flag = tasks.run_flag()
        if flag is not None:
            self.stdout.write(
                f"run queued or draining: flag set {flag[0]:.1f} s ago, expires in {flag[1]:.1f} s "
                "(a worker that died holding it delays wake-ups until then)"
            )
