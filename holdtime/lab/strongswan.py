"""strongSwan configs of the lab's charons (userspace ESP), rendered by pure functions."""

from __future__ import annotations


def strongswan_conf(ike_port: int, natt_port: int, table: int, log_path: str) -> str:
    """charon with userspace ESP (kernel-libipsec before kernel-netlink) on its own ports."""
    plugins = (
        "random nonce aes sha1 sha2 hmac kdf pem pkcs1 x509 pubkey openssl gmp curve25519 "
        "kernel-libipsec kernel-netlink socket-default vici"
    )
    return f"""charon {{
  port = {ike_port}
  port_nat_t = {natt_port}
  install_routes = no
  install_virtual_ip = no
  routing_table = {table}
  routing_table_prio = {table}
  load = {plugins}
  filelog {{
    lab {{
      path = {log_path}
      default = 1
      ike = 1
      time_format = %b %e %T
      flush_line = yes
    }}
  }}
}}
"""


def swanctl_conf(
    name: str,
    local: str,
    remote: str,
    local_id: str,
    remote_id: str,
    secret: str,
    remote_port: int | None,
    initiate: bool,
) -> str:
    """One IKEv2 connection with 0.0.0.0/0 selectors (route-based: FRR decides what enters)."""
    port = f"    remote_port = {remote_port}\n" if remote_port else ""
    start = "start" if initiate else "none"
    return f"""connections {{
  {name} {{
    version = 2
    local_addrs = {local}
    remote_addrs = {remote}
{port}    encap = yes
    proposals = aes128-sha256-modp2048
    dpd_delay = 5s
    rekey_time = 4h
    local {{
      auth = psk
      id = {local_id}
    }}
    remote {{
      auth = psk
      id = {remote_id}
    }}
    children {{
      {name} {{
        local_ts = 0.0.0.0/0
        remote_ts = 0.0.0.0/0
        esp_proposals = aes128-sha256
        start_action = {start}
        dpd_action = restart
        rekey_time = 1h
      }}
    }}
  }}
}}
secrets {{
  ike-{name} {{
    id-local = {local_id}
    id-remote = {remote_id}
    secret = "{secret}"
  }}
}}
"""
