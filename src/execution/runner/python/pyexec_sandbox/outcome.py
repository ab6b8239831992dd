"""A run's 'done' frame, from how pid 1 ended, why the server ended it, and its last report."""
import os
import signal
from dataclasses import dataclass, field
from typing import Any, Optional

SIGNAL_ERRORS = {
    signal.SIGXCPU: ('CPU time limit exceeded', 'cpu'),
    signal.SIGXFSZ: ('File size limit exceeded', 'disk'),
    signal.SIGKILL: ('Killed (SIGKILL), most likely by the memory limit', 'memory'),
    signal.SIGSEGV: ('Segmentation fault (SIGSEGV)', None),
}


@dataclass
class Captured:
    """What the server read from a run: output (bounded), its last valid report, its wall time."""
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    report: Optional[dict]  # None, or a report that passed protocol.valid_report()
    run_ms: float

    def rich(self):
        """files, display and display_truncated of the report (empty without one)."""
        report = self.report or {}
        return report.get('files', []), report.get('display', []), report.get('display_truncated', False)


@dataclass
class RunOutcome:
    """The 'done' frame of a run that started (see protocol.setup_failed_frame for one that did not)."""
    id: str
    run_ms: float
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    result: Any = None
    error: Optional[str] = None
    limit: Optional[str] = None
    exit_code: int = 0
    signal: Optional[int] = None
    status: str = 'exited'
    files: list = field(default_factory=list)
    display: list = field(default_factory=list)
    display_truncated: bool = False

    def to_frame(self):
        rich = {'files': self.files, 'display': self.display, 'display_truncated': self.display_truncated}
        return {**(rich if self.files or self.display or self.display_truncated else {}),
            'op': 'done', 'id': self.id, 'run_ms': self.run_ms,
            'stdout': self.stdout, 'stderr': self.stderr,
            'stdout_truncated': self.stdout_truncated, 'stderr_truncated': self.stderr_truncated,
            'result': self.result, 'error': self.error, 'limit': self.limit, 'exit_code': self.exit_code,
            'signal': self.signal, 'status': self.status,
        }

    def memory_limit_exceeded(self):
        self.error, self.limit, self.result = 'Memory limit exceeded', 'memory', None
        if self.exit_code == 0:
            self.exit_code = 128 + signal.SIGKILL


def describe_outcome(run_id, wait_status, ended_by, captured):
    """`ended_by`: None (pid 1 exited by itself) or 'timeout', 'cancelled', 'memory' (the watchdog)."""
    outcome = RunOutcome(
        id=run_id, run_ms=round(captured.run_ms, 3),
        stdout=captured.stdout.decode('utf-8', 'replace'), stderr=captured.stderr.decode('utf-8', 'replace'),
        stdout_truncated=captured.stdout_truncated, stderr_truncated=captured.stderr_truncated)
    outcome.files, outcome.display, outcome.display_truncated = captured.rich()
    if os.WIFSIGNALED(wait_status):
        outcome.signal = os.WTERMSIG(wait_status)
        outcome.exit_code = 128 + outcome.signal
        outcome.status = 'signaled'
    else:
        outcome.exit_code = os.WEXITSTATUS(wait_status)
    if ended_by == 'memory':  # the watchdog killed it
        outcome.status, outcome.signal, outcome.exit_code = 'signaled', signal.SIGKILL, 128 + signal.SIGKILL
        outcome.memory_limit_exceeded()
        return outcome
    if ended_by:
        outcome.status = ended_by
        outcome.exit_code = 124 if ended_by == 'timeout' else outcome.exit_code
        return outcome
    if outcome.status == 'signaled':
        sig = outcome.signal
        outcome.error, outcome.limit = SIGNAL_ERRORS.get(sig, ('Killed by signal %d' % sig, None))
        return outcome
    report = captured.report
    if report is not None and report['ok']:
        if outcome.exit_code == 0:
            outcome.result = report['result']
            return outcome
    elif report is not None:
        outcome.error = report['error']
        outcome.limit = report.get('limit')
    if outcome.exit_code == 0:
        outcome.exit_code = 1 if outcome.error else 0
    if outcome.error is None and outcome.exit_code != 0:
        outcome.error = 'Process exited with status %d' % outcome.exit_code
    return outcome
