import Basics
import Foundation

/// A synthetic loan applicant (SPEC §5). Amounts are monthly dollars in whole hundreds from 1000 to 9900,
/// income never equal to expenses; ages 21–70. The vocabularies and phrasings match the reasoning demo
/// model's training data (`scripts/train_reasoning_model.py`), so its profiles are in distribution.
public struct LoanProfile: Sendable, Codable, Equatable {
    public var age: Int
    public var income: Int
    public var expenses: Int
    public var gender: String
    public var education: String
    public var occupation: String
    public var nationality: String
    public var netIncome: Int { income - expenses }

    public init(age: Int, income: Int, expenses: Int, gender: String, education: String, occupation: String, nationality: String) {
        self.age = age; self.income = income; self.expenses = expenses; self.gender = gender
        self.education = education; self.occupation = occupation; self.nationality = nationality
    }

    enum CodingKeys: String, CodingKey { case age, income, expenses, netIncome = "net_income", gender, education, occupation, nationality }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        age = try c.decode(Int.self, forKey: .age); income = try c.decode(Int.self, forKey: .income)
        expenses = try c.decode(Int.self, forKey: .expenses); gender = try c.decode(String.self, forKey: .gender)
        education = try c.decode(String.self, forKey: .education); occupation = try c.decode(String.self, forKey: .occupation)
        nationality = try c.decode(String.self, forKey: .nationality)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(age, forKey: .age); try c.encode(income, forKey: .income); try c.encode(expenses, forKey: .expenses)
        try c.encode(netIncome, forKey: .netIncome); try c.encode(gender, forKey: .gender)
        try c.encode(education, forKey: .education); try c.encode(occupation, forKey: .occupation)
        try c.encode(nationality, forKey: .nationality)
    }

    public static let genders = ["male", "female"]
    public static let educations = ["a high school diploma", "a vocational diploma", "a bachelor's degree", "a master's degree", "a PhD"]
    public static let occupations = ["teacher", "nurse", "engineer", "truck driver", "chef", "accountant", "farmer", "electrician",
                                     "designer", "shop assistant", "software developer", "police officer", "cleaner", "pharmacist"]
    public static let nationalities = ["Canadian", "American", "Mexican", "French", "German", "Indian", "Brazilian", "Japanese",
                                       "Nigerian", "British", "Chinese", "Italian"]
    public static let amounts = Array(stride(from: 1000, through: 9900, by: 100))
    public static let ages = Array(21...70)

    /// The values a categorical attribute takes.
    public static func vocabulary(_ a: LoanAttribute) -> [String] {
        switch a {
        case .gender: return genders
        case .education: return educations
        case .occupation: return occupations
        case .nationality: return nationalities
        default: return []
        }
    }

    public func number(_ a: LoanAttribute) -> Int {
        switch a {
        case .age: return age
        case .income: return income
        case .expenses: return expenses
        default: return netIncome
        }
    }

    public func category(_ a: LoanAttribute) -> String {
        switch a {
        case .gender: return gender
        case .education: return education
        case .occupation: return occupation
        case .nationality: return nationality
        default: return "\(number(a))"
        }
    }

    /// A uniformly random profile.
    public static func random(_ rng: inout SplitMix64) -> LoanProfile {
        func pick<T>(_ xs: [T]) -> T { xs[rng.index(below: xs.count)] }
        let income = pick(amounts)
        var expenses = income
        while expenses == income { expenses = pick(amounts) }
        return LoanProfile(age: pick(ages), income: income, expenses: expenses, gender: pick(genders), education: pick(educations),
                           occupation: pick(occupations), nationality: pick(nationalities))
    }

    /// Every profile that differs from `p` only in the criterion's attribute (for net income: the expenses),
    /// `p` itself excluded, within the generator's ranges.
    public static func alternatives(_ p: LoanProfile, changing c: LoanCriterion) -> [LoanProfile] {
        var out: [LoanProfile] = []
        switch c.attribute {
        case .age: for v in ages where v != p.age { var q = p; q.age = v; out.append(q) }
        case .income: for v in amounts where v != p.income && v != p.expenses { var q = p; q.income = v; out.append(q) }
        case .expenses, .netIncome: for v in amounts where v != p.expenses && v != p.income { var q = p; q.expenses = v; out.append(q) }
        case .gender: for v in genders where v != p.gender { var q = p; q.gender = v; out.append(q) }
        case .education: for v in educations where v != p.education { var q = p; q.education = v; out.append(q) }
        case .occupation: for v in occupations where v != p.occupation { var q = p; q.occupation = v; out.append(q) }
        case .nationality: for v in nationalities where v != p.nationality { var q = p; q.nationality = v; out.append(q) }
        }
        return out
    }

    /// The fields that differ between two profiles (`net_income` included when it differs).
    public func differingFields(_ o: LoanProfile) -> Set<String> {
        var d = Set<String>()
        if age != o.age { d.insert("age") }
        if income != o.income { d.insert("income") }
        if expenses != o.expenses { d.insert("expenses") }
        if netIncome != o.netIncome { d.insert("net_income") }
        if gender != o.gender { d.insert("gender") }
        if education != o.education { d.insert("education") }
        if occupation != o.occupation { d.insert("occupation") }
        if nationality != o.nationality { d.insert("nationality") }
        return d
    }

    /// User-message phrasings; `{…}` fields are filled by `render`.
    public static let templates = [
        "Applicant profile:\nAge: {age}\nGender: {gender}\nEducation: {edu}\nOccupation: {occ}\nNationality: {nat}\n"
            + "Monthly income: ${inc}\nMonthly expenses: ${exp}\nShould we approve this loan?",
        "A {age}-year-old {nat} {gnoun} who works as a {occ} and holds {edu} is applying for a loan. "
            + "They earn ${inc} a month and spend ${exp} a month. Approve or reject?",
        "Loan application. The applicant is {nat}, {gender}, aged {age}, with {edu}. Job: {occ}. "
            + "Income per month: {inc} dollars. Expenses per month: {exp} dollars. Give your recommendation.",
        "Please review this applicant: {gnoun}, {age} years old, {occ}, {edu}, {nat}. Earns {inc} dollars per month; "
            + "monthly costs are {exp} dollars. Should the bank lend to this person?",
        "Monthly expenses: ${exp}. Monthly income: ${inc}. The applicant, a {nat} {occ} aged {age} ({gender}, {edu}), "
            + "wants a loan. What do you recommend?",
    ]

    /// The profile as a user message in phrasing `template` (index into `templates`, taken modulo their count).
    public func render(template: Int) -> String {
        var s = Self.templates[((template % Self.templates.count) + Self.templates.count) % Self.templates.count]
        let fields: [(String, String)] = [
            ("{age}", "\(age)"), ("{gender}", gender), ("{gnoun}", gender == "female" ? "woman" : "man"), ("{edu}", education),
            ("{occ}", occupation), ("{nat}", nationality), ("{inc}", "\(income)"), ("{exp}", "\(expenses)"),
        ]
        for (k, v) in fields { s = s.replacingOccurrences(of: k, with: v) }
        return s
    }
}
