/// A container, as a process's cgroup path names it: the runtime and the container's id (and
/// the Kubernetes pod, when a kubelet made it).
public struct Container: Sendable, Hashable, CustomStringConvertible {
    /// The runtime that made the cgroup (the path's form says which).
    public enum Runtime: String, Sendable, Hashable {
        /// `docker-ID.scope` (systemd cgroup driver), `/docker/ID` (cgroupfs driver).
        case docker
        /// `libpod-ID.scope`, `/libpod_parent/libpod-ID`.
        case podman
        /// `cri-containerd-ID.scope` (Kubernetes through containerd).
        case containerd
        /// `crio-ID.scope` (Kubernetes through CRI-O).
        case crio = "cri-o"
        /// `/kubepods/…/podUID/ID` (cgroupfs driver): a Kubernetes container, whose runtime the
        /// path does not name.
        case kubernetes
    }

    /// The runtime that made it.
    public var runtime: Runtime
    /// The full id (64 hexadecimal digits).
    public var id: String
    /// The Kubernetes pod's uid (`1f2e…-…`), when the container is in a pod.
    public var podUID: String?

    /// A container of `runtime` with the full `id`, in the pod `podUID` if any.
    public init(runtime: Runtime, id: String, podUID: String? = nil) {
        self.runtime = runtime
        self.id = id
        self.podUID = podUID
    }

    /// The id as `docker ps` shows it: its first 12 digits.
    public var shortID: String { String(id.prefix(12)) }

    /// `docker 0123456789ab`.
    public var description: String { "\(runtime.rawValue) \(shortID)" }

    /// The command that stops a container of this runtime (`docker`, `podman`; `crictl` for a
    /// Kubernetes runtime).
    public var stopTool: String {
        switch runtime {
        case .docker: return "docker"
        case .podman: return "podman"
        case .containerd, .crio, .kubernetes: return "crictl"
        }
    }
}
