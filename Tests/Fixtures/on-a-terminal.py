"""Runs a command with its stdout on a pseudo-terminal of a given width; prints what it wrote.

    on-a-terminal.py COLUMNS[xROWS] COMMAND [ARGS...]

COLUMNS is the terminal's width and ROWS its height (TIOCSWINSZ; 50 rows when not given), and
the COLUMNS and LINES variables are removed from the command's environment so that the
terminal's own size is what it reads. stderr is passed through,
NO_COLOR is set (plain text to compare), and the exit status is the command's.
"""
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

size, command = sys.argv[1].split("x"), sys.argv[2:]
columns, rows = int(size[0]), int(size[1]) if len(size) > 1 else 50
controller, terminal = pty.openpty()
fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
environment = dict(os.environ, NO_COLOR="1")
environment.pop("COLUMNS", None)
environment.pop("LINES", None)
child = subprocess.Popen(command, stdout=terminal, env=environment)
os.close(terminal)
output = b""
while True:
    try:
        chunk = os.read(controller, 65536)
    except OSError:  # EIO: every writer of the terminal has closed it
        break
    if not chunk:
        break
    output += chunk
sys.stdout.write(output.decode().replace("\r\n", "\n"))
sys.exit(child.wait(timeout=30))
