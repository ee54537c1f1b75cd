import Sockit
import SockitPorts

extension BindVerdict {
    /// The reason as `sockit` says it: with what to do, as the `sockit` command that does it.
    var commandLineReason: String {
        var text = reason
        for remedy in remedies {
            switch remedy {
            case .setReuseAddress: text += " (sockit echo sets it)"
            case .waitFor: text += ": " + remedy.description
            default: text += "; " + remedy.commandLineText
            }
        }
        return text
    }
}

extension PortFreer.Refusal {
    /// The refusal as `sockit free` says it: about sockit itself, with the flag that lifts it.
    var commandLineText: String {
        switch self {
        case .itself: return "this is sockit itself"
        case .parent: return "this is sockit's parent process"
        case .otherUser: return "\(description) (--all-users to include it)"
        case .initProcess: return description
        case .supervised(let advice):
            switch advice.supervisor {
            case .unit, .container: return "runs \(advice.supervisor)"
            case .serviceManager: return "\(advice.supervisor), never signalled"
            }
        }
    }
}
