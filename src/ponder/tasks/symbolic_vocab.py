"""Word lists and number words the GSM-Symbolic templates sample from (`names`, `fractions`, …).

The published templates name these lists but their values were not released, so they are ours.
A number word (`Word`) is a number that prints as its word: "half" is 1/2 in a formula and "half"
in the question.
"""

from __future__ import annotations

from fractions import Fraction


class Word(Fraction):
    """A number with the word it is written as in a question ("twice", "one-third", "0.25")."""

    text: str

    def __new__(cls, text: str, value) -> Word:
        self = super().__new__(cls, Fraction(value))
        self.text = text
        return self

    def __str__(self) -> str:
        return self.text

    def __getitem__(self, i: int):
        """Templates also read a number word as the pair (word, value)."""
        return (self.text, Fraction(self))[i]

    def __repr__(self) -> str:
        return f"Word({self.text!r}, {Fraction(self)!s})"


def _words(pairs) -> list[Word]:
    return [Word(text, value) for text, value in pairs]


NAMES_MALE = [
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Richard",
    "Joseph",
    "Thomas",
    "Charles",
    "Daniel",
    "Matthew",
    "Anthony",
    "Mark",
    "Steven",
    "Paul",
    "Andrew",
    "Joshua",
    "Kevin",
    "Brian",
    "George",
    "Edward",
    "Ronald",
    "Jason",
    "Ryan",
    "Jacob",
    "Gary",
    "Eric",
    "Jonathan",
    "Larry",
    "Justin",
    "Scott",
    "Frank",
    "Benjamin",
    "Samuel",
    "Gregory",
    "Alexander",
    "Patrick",
    "Jack",
    "Dennis",
    "Jerry",
    "Tyler",
    "Aaron",
    "Henry",
    "Carlos",
    "Luis",
    "Mateo",
    "Hiroshi",
    "Ravi",
    "Kwame",
    "Ahmed",
    "Ivan",
    "Diego",
    "Omar",
    "Wei",
    "Arjun",
]
NAMES_FEMALE = [
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Lisa",
    "Nancy",
    "Betty",
    "Sandra",
    "Margaret",
    "Ashley",
    "Kimberly",
    "Emily",
    "Donna",
    "Michelle",
    "Carol",
    "Amanda",
    "Melissa",
    "Deborah",
    "Stephanie",
    "Rebecca",
    "Laura",
    "Helen",
    "Sharon",
    "Cynthia",
    "Amy",
    "Angela",
    "Anna",
    "Emma",
    "Olivia",
    "Sophia",
    "Isabella",
    "Mia",
    "Valeria",
    "Lucia",
    "Yuki",
    "Priya",
    "Amara",
    "Fatima",
    "Mei",
    "Sofia",
    "Elena",
    "Chloe",
    "Zoe",
    "Hannah",
]
NAMES = NAMES_MALE + NAMES_FEMALE

VOCAB: dict[str, list[str] | list[Word]] = {
    "names": NAMES,
    "names_male": NAMES_MALE,
    "names_female": NAMES_FEMALE,
    "currencies_sym": ["$", "€", "£", "¥", "₹"],
    "fruits": ["apple", "banana", "orange", "pear", "peach", "mango", "pineapple", "plum", "kiwi", "lemon"],
    "colors": ["red", "blue", "green", "yellow", "purple", "orange", "pink", "white", "black", "brown"],
    "sports": ["basketball", "soccer", "tennis", "volleyball", "baseball", "hockey", "rugby", "cricket"],
    "cities": [
        "Los Angeles",
        "New York",
        "Chicago",
        "Houston",
        "Paris",
        "London",
        "Tokyo",
        "Sydney",
        "Toronto",
        "Berlin",
        "Madrid",
        "Rome",
    ],
    "weekdays": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "weights_sm": ["ounce", "gram"],
    "weights_med": ["pound", "kilogram"],
    "length_lg": ["mile", "kilometer"],
    "fractions": _words(
        [
            ("half", Fraction(1, 2)),
            ("one-third", Fraction(1, 3)),
            ("a quarter", Fraction(1, 4)),
            ("one-fifth", Fraction(1, 5)),
            ("two-thirds", Fraction(2, 3)),
            ("three-quarters", Fraction(3, 4)),
            ("two-fifths", Fraction(2, 5)),
        ]
    ),
    "fraction_alnum": _words(
        [
            ("half", Fraction(1, 2)),
            ("1/3", Fraction(1, 3)),
            ("1/4", Fraction(1, 4)),
            ("one-fifth", Fraction(1, 5)),
            ("two-thirds", Fraction(2, 3)),
            ("three quarters", Fraction(3, 4)),
            ("three-fifths", Fraction(3, 5)),
            ("1/8", Fraction(1, 8)),
            ("1/16", Fraction(1, 16)),
            ("one-third", Fraction(1, 3)),
        ]
    ),
    "fraction_alph": _words(
        [
            ("half", Fraction(1, 2)),
            ("a third", Fraction(1, 3)),
            ("a quarter", Fraction(1, 4)),
            ("a fifth", Fraction(1, 5)),
            ("two thirds", Fraction(2, 3)),
            ("three quarters", Fraction(3, 4)),
        ]
    ),
    "fraction_nums": _words(
        [
            ("1/2", Fraction(1, 2)),
            ("1/3", Fraction(1, 3)),
            ("1/4", Fraction(1, 4)),
            ("1/5", Fraction(1, 5)),
            ("2/3", Fraction(2, 3)),
            ("3/4", Fraction(3, 4)),
            ("2/5", Fraction(2, 5)),
            ("1/10", Fraction(1, 10)),
        ]
    ),
    "fraction_decimals": _words(
        [
            ("0.1", Fraction(1, 10)),
            ("0.2", Fraction(1, 5)),
            ("0.25", Fraction(1, 4)),
            ("0.3", Fraction(3, 10)),
            ("0.4", Fraction(2, 5)),
            ("0.5", Fraction(1, 2)),
            ("0.6", Fraction(3, 5)),
            ("0.75", Fraction(3, 4)),
            ("0.8", Fraction(4, 5)),
        ]
    ),
    "multi_times": _words(
        [("twice", 2), ("three times", 3), ("four times", 4), ("five times", 5), ("half", Fraction(1, 2))]
    ),
    "multiple_ice": _words([("twice", 2), ("three times", 3), ("four times", 4)]),
    "multiple": _words([("double", 2), ("triple", 3), ("quadruple", 4)]),
}
