// The `sockit` executable: everything is in SockitCommands.
import SockitCommands

await SockitCommand.execute()
