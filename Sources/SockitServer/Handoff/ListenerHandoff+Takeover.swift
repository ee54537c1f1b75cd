import Sockit

extension ListenerHandoff {
    /// Listeners received from the old instance, and the connection to tell it when we are ready.
    /// Dropping it without `confirmReady` closes the connection: the old instance keeps serving.
    public final class Takeover: Sendable {
        /// The listening sockets, in the order the old instance sent them.
        public let listeners: [Socket]
        /// Their names (from the old instance's configuration, or systemd's `LISTEN_FDNAMES`).
        public let names: [String]
        /// The old instance's pid.
        public let peerPID: Int32
        let connection: Socket

        init(listeners: [Socket], names: [String], peerPID: Int32, connection: Socket) {
            self.listeners = listeners
            self.names = names
            self.peerPID = peerPID
            self.connection = connection
        }

        /// Tells the old instance that we accept now (READY), waits (up to `timeout`) until it says
        /// it stopped accepting (DONE), and acknowledges (ACK): from then on the old instance
        /// drains and exits. Then start a `HandoffServer` at PATH for the next restart.
        /// Returns true when the old instance confirmed (DONE); false when it closed the
        /// connection without confirming: it died, or it gave up waiting and serves on
        /// (`instanceAnswers(at:)` tells the two apart).
        /// - Throws: `Failure` when it neither confirmed nor closed within `timeout`.
        @discardableResult
        public func confirmReady(timeout: Duration = .seconds(10)) throws(Failure) -> Bool {
            defer { try? connection.close() }
            do {
                try connection.setOption(.sendTimeout, timeout)
                try connection.setOption(.receiveTimeout, timeout)
                try connection.sendAll(HandoffMessage.ready.encoded)
                let (line, _) = try ListenerHandoff.readLine(connection)
                guard (try? HandoffMessage(parsing: line)) == .done else { return false }
                // If this fails the old instance went away or gave up on us (it then accepts again):
                // either way we accept too, so there is nothing to undo.
                try? connection.sendAll(HandoffMessage.ack.encoded)
                return true
            } catch  where error.errno == .wouldBlock {
                throw Failure(
                    "the old instance (pid \(peerPID)) did not confirm within \(ListenerHandoff.seconds(timeout)) that it stopped accepting",
                    explanation: ["both instances may accept on the socket now; stop one of them by its pid"],
                    conditionNotMet: true)
            } catch  where error.errno == .brokenPipe || error.errno == .connectionReset {
                return false  // it closed before reading READY
            } catch {
                throw Failure(
                    "cannot tell the old instance (pid \(peerPID)) that we accept: \(error.summary)", cause: error)
            }
        }
    }
}
