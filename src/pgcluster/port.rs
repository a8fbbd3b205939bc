//! The cluster's port: chosen once and kept in its config, read back the way PostgreSQL
//! reads it, and probed for a PostgreSQL answer rather than a bare TCP accept.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;

use super::{At, ClusterError, DEFAULT_PG_PORT, PROBE_TIMEOUT};

/// Chosen once and kept in the config, so every later start reuses it. While the first listener
/// holds its port the kernel cannot hand that port out again, so 5432 costs one more try at most.
pub(super) fn free_port() -> Result<u16, ClusterError> {
    let bind = || {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        Ok::<_, io::Error>((listener.local_addr()?.port(), listener))
    };
    let (port, _held) = bind().at("binding a port on", Path::new("127.0.0.1"))?;
    if port != DEFAULT_PG_PORT {
        return Ok(port);
    }
    Ok(bind().at("binding a port on", Path::new("127.0.0.1"))?.0)
}

pub(super) fn append_config(config: &Path, port: u16) -> Result<(), ClusterError> {
    // TCP on loopback only (trust auth is safe there); no socket file, whose path may be too long.
    let settings = format!(
        "\n# Souk's private cluster\nlisten_addresses = '127.0.0.1'\nport = {port}\n\
         unix_socket_directories = ''\nmax_connections = 300\n\
         # A full test run creates a few hundred databases, each logged whole: checkpoint\n\
         # sooner than the default 1 GB of WAL so the log does not fill a small disk.\n\
         max_wal_size = 256MB\n"
    );
    let mut file = File::options()
        .append(true)
        .open(config)
        .at("opening", config)?;
    file.write_all(settings.as_bytes()).at("writing", config)?;
    file.sync_all().at("writing", config)
}

/// Like PostgreSQL itself, the last uncommented `port` line wins.
pub(super) fn port_setting(config: &str) -> Option<u16> {
    config
        .lines()
        .filter_map(|line| line.split('#').next()?.split_once('='))
        .filter(|(key, _)| key.trim() == "port")
        .filter_map(|(_, value)| value.trim().parse().ok())
        .next_back()
}

/// Checks the port speaks PostgreSQL, not merely accepts TCP: an SSLRequest gets a one-byte answer.
pub(super) fn speaks_postgres(port: u16) -> bool {
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) else {
        return false;
    };
    let mut reply = [0u8; 1];
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).is_ok()
        && stream.write_all(&SSL_REQUEST).is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && matches!(reply[0], b'S' | b'N')
}
