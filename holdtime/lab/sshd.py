"""sshd config of the lab's nodes, rendered by a pure function."""

from __future__ import annotations


def sshd_config(listen: str, host_key: str, authorized_keys: str, pid_file: str) -> str:
    """A key-only sshd for one lab node (root with the lab's client key)."""
    return f"""ListenAddress {listen}
Port 22
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 400:30:800
MaxSessions 400
LogLevel ERROR
Subsystem sftp internal-sftp
"""
