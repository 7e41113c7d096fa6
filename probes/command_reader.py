"""CommandReader: every allowlisted read on one SSH session, with the per-section errors.

The router probe, the drill observers and the pytest ``holdtime_router`` handle all read a
router through one of these and the platform readers (probes/platforms.py), so each sees the
same allowlist, ``sudo -n``, parsers and strongSwan interface choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from holdtime.errors import CommandTimeout, ParseError
from holdtime.probes import commands
from holdtime.probes.ssh import CommandOutput

if TYPE_CHECKING:
    from holdtime.probes.router_config import Router

T = TypeVar("T")


class CommandSession(Protocol):
    """What a reader needs of a session: run one shell line (SshSession, or a test replay)."""

    def run(self, line: str, /) -> CommandOutput:
        """Run one command line and return what it printed."""
        ...


class CommandReader:
    """Runs allowlisted commands on one session and keeps the section errors."""

    def __init__(self, session: CommandSession, router: Router, device: str = "") -> None:
        self.session = session
        self.sudo = router.sudo
        self.device = device or router.name
        self.errors: dict[str, str] = {}
        self.count = 0
        self._batched: dict[str, CommandOutput] = {}
        self.chosen: dict[str, str] = {}  # platform -> interface chosen by `auto` (strongSwan)

    def run(self, platform: str, text: str) -> CommandOutput:
        """Run one allowlisted command (answered from a prefetched vtysh batch if it was in it)."""
        command = commands.build(platform, text, sudo=self.sudo, device=self.device)
        if platform == "frr" and command.text in self._batched:
            return self._batched.pop(command.text)
        self.count += 1
        return self.session.run(command.line)

    def prefetch_frr(self, texts: Sequence[str]) -> None:
        """Run several FRR commands in one vtysh; run() then answers them from that output.

        A command vtysh did not reach (it stops at the first failure) or an output that cannot
        be attributed is simply run on its own later, so the result never depends on batching.
        """
        unique = dict.fromkeys(map(commands.normalize, texts))
        wanted = [text for text in unique if text not in self._batched]
        if len(wanted) < 2:
            return
        batch = commands.build_vtysh_batch(wanted, sudo=self.sudo, device=self.device)
        self.count += 1
        out = self.session.run(batch.line)
        self._batched.update(attribute_vtysh_batch(out, wanted, sudo=self.sudo))

    def text(self, platform: str, command: str) -> str:
        """Output of a command that must exit 0 (ParseError naming the device otherwise)."""
        return self.checked(command, self.run(platform, command))

    def checked(self, command: str, out: CommandOutput) -> str:
        """stdout of a command that exited 0 (ParseError naming the device otherwise)."""
        if out.exit_status != 0:
            first = out.text.strip().splitlines()[0][:160] if out.text.strip() else "no output"
            raise ParseError(f"{self.device}: `{command}` exited {out.exit_status}: {first}")
        return out.stdout

    def section(self, name: str, func: Callable[[], T]) -> T | None:
        """Call func; a parse failure or a command timeout marks only this section."""
        try:
            return func()
        except (ParseError, CommandTimeout) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not message.startswith(self.device):
                message = f"{self.device}: {message}"
            self.errors[name] = message
            return None


def attribute_vtysh_batch(
    out: CommandOutput, texts: Sequence[str], *, sudo: bool = False
) -> dict[str, CommandOutput]:
    """Each batched command's own CommandOutput, as if it had run alone.

    Commands vtysh ran before the one that failed exit 0; the failing one gets the batch's exit
    status and stderr; commands it never reached are left out (they run on their own). Output
    that cannot be attributed (no echo lines: a vtysh without -E) gives nothing.
    """
    outputs = commands.split_vtysh_batch(out.stdout, texts)
    if out.exit_status == 0 and len(outputs) != len(texts):
        return {}
    attributed: dict[str, CommandOutput] = {}
    for index, (text, chunk) in enumerate(zip(texts, outputs, strict=False)):
        failed = out.exit_status != 0 and index == len(outputs) - 1
        attributed[commands.normalize(text)] = CommandOutput(
            command=commands.build("frr", text, sudo=sudo).line,
            stdout=chunk,
            stderr=out.stderr if failed else "",
            exit_status=out.exit_status if failed else 0,
            duration_seconds=out.duration_seconds,
        )
    return attributed
