/// How hard to look for the processes that hold sockets.
public enum HolderSearch: Sendable, Hashable {
    /// Look at the processes of each socket's user first, stop once every socket has a holder, then
    /// look only at the fork family (ancestors and descendants) of the holders found: a socket is
    /// shared by forking (pre-fork workers, an inherited descriptor), so every such holder is found
    /// without reading the descriptors of every process on the machine.
    case fast
    /// Read the descriptors of every process: also finds a socket passed to an unrelated process
    /// with `SCM_RIGHTS`.
    case exhaustive
}
