// Scripted new instances of the hand-off protocol (python3 -c SCRIPT PATH), for the tests of
// both sides: the in-process HandoffServer and `sockit echo --handoff`.

/// A new instance that takes the listeners through PATH, prints what it received, and then
/// waits on stdin for the test to kill it: it never says READY.
public let doomedNewInstance = """
    import socket, sys
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(b"SOCKIT-HANDOFF 1 REQUEST\\n")
    msg, anc, flags, addr = s.recvmsg(256, socket.CMSG_SPACE(16 * 4))
    print(msg.decode().strip(), "fds=%d" % sum(len(d) // 4 for _, _, d in anc), flush=True)
    sys.stdin.read()
    """

/// A new instance that takes the listeners, says READY, prints DONE when the old instance
/// answers it (it stopped accepting by then), and waits on stdin for the test to kill it: it
/// never sends ACK, and never accepts.
public let vanishingNewInstance = """
    import socket, sys
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sys.argv[1])
    s.sendall(b"SOCKIT-HANDOFF 1 REQUEST\\n")
    msg, anc, flags, addr = s.recvmsg(256, socket.CMSG_SPACE(16 * 4))
    print(msg.decode().strip(), "fds=%d" % sum(len(d) // 4 for _, _, d in anc), flush=True)
    s.sendall(b"SOCKIT-HANDOFF 1 READY\\n")
    line = b""
    while not line.endswith(b"\\n") and len(line) <= 256:
        chunk = s.recv(257 - len(line))
        if not chunk:
            break
        line += chunk
    print(line.decode().strip(), flush=True)
    sys.stdin.read()
    """
