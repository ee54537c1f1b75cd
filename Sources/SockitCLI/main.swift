// The `sockit` executable: everything is in SockitCommands.
import SockitCommands

// who, wait, pick and --version answer here, without ArgumentParser; the rest goes on below.
SockitCommand.executeQuickly()
await SockitCommand.execute()
