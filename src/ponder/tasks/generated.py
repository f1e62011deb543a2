"""Symbolic reasoning tasks of Wei et al. 2022, generated (no files), seeded and reproducible.

- last-letter:N: 'Take the last letters of each word in "Elon Musk" and concatenate them.'
  over N-word names (2 in-domain, 4 out-of-domain); the answer is the letters, e.g. "nk".
- coin-flip:N: a coin starts heads up and N people each flip it or not; is it still heads up?
  (2 in-domain, 4 out-of-domain); the answer is yes or no.

Item i of a variant is drawn from its own generator seeded with (variant, i), so the first
items are the same whatever the count.
"""

from __future__ import annotations

import random
from pathlib import Path

from ponder.errors import ConfigError
from ponder.types import Task

FIRST = (
    "Elon",
    "Larry",
    "Sergey",
    "Bill",
    "Tim",
    "Jeff",
    "Mark",
    "Susan",
    "Sheryl",
    "Marissa",
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Katherine",
    "Dorothy",
    "Mary",
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
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Jessica",
    "Sarah",
    "Karen",
    "Nancy",
    "Lisa",
    "Betty",
    "Sandra",
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
    "Cynthia",
    "Kathleen",
    "Amy",
    "Angela",
    "Shirley",
    "Brenda",
    "Pamela",
    "Nicole",
    "Samantha",
    "Christine",
    "Rachel",
    "Janet",
    "Carolyn",
    "Maria",
    "Heather",
    "Diane",
    "Julie",
    "Joyce",
    "Victoria",
    "Kelly",
    "Christina",
    "Joan",
    "Evelyn",
    "Lauren",
    "Judith",
    "Olivia",
    "Frances",
    "Martha",
    "Cheryl",
    "Megan",
    "Andrea",
    "Hannah",
    "Jacqueline",
    "Ann",
    "Jean",
    "Alice",
    "Kathryn",
    "Gloria",
    "Teresa",
    "Doris",
    "Sara",
    "Janice",
    "Julia",
    "Marie",
    "Madison",
    "Grace",
    "Judy",
    "Theresa",
    "Beverly",
    "Denise",
    "Marilyn",
    "Amber",
    "Danielle",
    "Abigail",
    "Brittany",
    "Rose",
    "Diana",
    "Natalie",
    "Sophia",
    "Alexis",
    "Lori",
    "Kayla",
    "Jane",
    "Oscar",
    "Pedro",
    "Lucia",
    "Mateo",
    "Valentina",
    "Kenji",
    "Yuki",
    "Wei",
    "Ravi",
    "Priya",
    "Amara",
    "Kofi",
)
LAST = (
    "Musk",
    "Page",
    "Brin",
    "Gates",
    "Cook",
    "Bezos",
    "Zuckerberg",
    "Wojcicki",
    "Sandberg",
    "Mayer",
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Johnson",
    "Vaughan",
    "Jackson",
    "Smith",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
)
DEFAULT_COUNT = 500


def _size(name: str, variant: str | None) -> int:
    try:
        size = int(variant or 2)
    except ValueError:
        size = 0
    if not 1 <= size <= 12:
        raise ConfigError(
            f"task {name}:{variant}: the variant is the number of "
            f"{'words' if name == 'last-letter' else 'flips'}, 1 to 12"
        )
    return size


def last_letter(size: int, count: int) -> list[Task]:
    tasks = []
    for i in range(count):
        rng = random.Random(f"last-letter/{size}/{i}")
        words = [rng.choice(FIRST) for _ in range(size - 1)] + [rng.choice(LAST)]
        name = " ".join(words)
        tasks.append(
            Task(
                id=f"last-letter/{size}/{i}",
                question=f'Take the last letters of each word in "{name}" and concatenate them.',
                answer="".join(w[-1] for w in words).lower(),
                kind="text",
            )
        )
    return tasks


def coin_flip(size: int, count: int) -> list[Task]:
    tasks = []
    for i in range(count):
        rng = random.Random(f"coin-flip/{size}/{i}")
        people = rng.sample(FIRST, size)
        flips = [rng.random() < 0.5 for _ in people]
        story = " ".join(f"{p} {'flips' if f else 'does not flip'} the coin." for p, f in zip(people, flips))
        tasks.append(
            Task(
                id=f"coin-flip/{size}/{i}",
                question=f"A coin is heads up. {story} Is the coin still heads up? "
                'Note that "flip" here means "reverse".',
                answer="no" if sum(flips) % 2 else "yes",
                kind="yesno",
            )
        )
    return tasks


def load_benchmark(
    name: str, variant: str | None, data_dir: Path | str | None = None, count: int = DEFAULT_COUNT
) -> list[Task]:
    if count < 1:
        raise ConfigError(f"count must be at least 1, got {count}")
    size = _size(name, variant)
    return last_letter(size, count) if name == "last-letter" else coin_flip(size, count)
