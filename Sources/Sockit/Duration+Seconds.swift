extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var secondsValue: Double {
        // `components` traps when the seconds do not fit an Int64, and a Duration holds more (a
        // timeval of Int.max seconds and some microseconds): divide those instead.
        if self >= .seconds(Int64.max) || self <= .seconds(Int64.min) { return self / .seconds(1) }
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Duration {
    /// The duration in whole milliseconds as seconds, for messages: `10 s`, `0.5 s`.
    package var secondsDescription: String {
        let milliseconds = self.milliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}
