import Foundation

/// Python's `datetime.strftime` for the codes chat templates use, in the C locale, evaluated in UTC.
enum Strftime {
    private static let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]

    static func format(_ fmt: String, _ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond, .weekday], from: date)
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let hour = c.hour ?? 0, minute = c.minute ?? 0, second = c.second ?? 0
        let weekday = ((c.weekday ?? 1) + 5) % 7  // Monday = 0
        let yday = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        let hour12 = hour % 12 == 0 ? 12 : hour % 12

        func pad(_ v: Int, _ w: Int, _ noPad: Bool) -> String {
            let s = String(v)
            return noPad ? s : String(repeating: "0", count: max(0, w - s.count)) + s
        }

        var out = ""
        var chars = Array(fmt)[...]
        while let ch = chars.popFirst() {
            guard ch == "%", let next = chars.first else { out.append(ch); continue }
            chars.removeFirst()
            var code = next
            var noPad = false
            if code == "-", let n = chars.first { noPad = true; code = n; chars.removeFirst() }
            switch code {
            case "a": out += String(days[weekday].prefix(3))
            case "A": out += days[weekday]
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "B": out += months[month - 1]
            case "d": out += pad(day, 2, noPad)
            case "e": out += noPad ? String(day) : (day < 10 ? " " : "") + String(day)
            case "m": out += pad(month, 2, noPad)
            case "y": out += pad(year % 100, 2, noPad)
            case "Y": out += String(year)
            case "H": out += pad(hour, 2, noPad)
            case "I": out += pad(hour12, 2, noPad)
            case "M": out += pad(minute, 2, noPad)
            case "S": out += pad(second, 2, noPad)
            case "f": out += pad((c.nanosecond ?? 0) / 1000, 6, false)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "j": out += pad(yday, 3, noPad)
            case "w": out += String((weekday + 1) % 7)
            case "u": out += String(weekday + 1)
            case "z", "Z": break  // naive datetime: empty
            case "F": out += "\(year)-\(pad(month, 2, false))-\(pad(day, 2, false))"
            case "T", "X": out += "\(pad(hour, 2, false)):\(pad(minute, 2, false)):\(pad(second, 2, false))"
            case "D", "x": out += "\(pad(month, 2, false))/\(pad(day, 2, false))/\(pad(year % 100, 2, false))"
            case "c":
                out += "\(days[weekday].prefix(3)) \(months[month - 1].prefix(3)) \(day < 10 ? " " : "")\(day) "
                    + "\(pad(hour, 2, false)):\(pad(minute, 2, false)):\(pad(second, 2, false)) \(year)"
            case "%": out += "%"
            default: out += "%" + (noPad ? "-" : "") + String(code)
            }
        }
        return out
    }
}
