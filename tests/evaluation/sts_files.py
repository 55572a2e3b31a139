"""Writers of small STS data files in every format the loaders read."""

from __future__ import annotations

from pathlib import Path

# The real data lives beside the repository (../shared/data), never inside it.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def write_lines(path: Path, lines: list[str], newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())


STS_YEAR_FOLDERS = ["STS12-en-test", "STS13-en-test", "STS14-en-test", "STS15-en-test", "STS16-en-test"]
PAIRS = [
    ("a man is playing a guitar .", "a man plays the guitar .", "4.8"),
    ("a woman is slicing an onion .", "a man is playing a flute .", "0.4"),
    ("a dog runs on the grass .", "a dog is running in a field .", "3.6"),
    ("the cat sleeps .", "a cat is sleeping .", "4.2"),
    ("kids play football .", "the stock market fell .", "0.0"),
    ("a plane takes off .", "an airplane is taking off .", "5.0"),
]


def write_sts_year(folder: Path) -> None:
    """Two scored subsets (one with unscored pairs), one with text but no gold, one with gold but no text."""
    write_lines(folder / "STS.input.first.txt", [f"{a}\t{b}" for a, b, _ in PAIRS[:4]])
    write_lines(folder / "STS.gs.first.txt", [score for _, _, score in PAIRS[:4]])
    write_lines(folder / "STS.input.second.txt", [f"{a}\t{b}" for a, b, _ in PAIRS])
    write_lines(folder / "STS.gs.second.txt", ["4.8", "", "3.6", "4.2", "", "5.0"])
    write_lines(folder / "STS.input.nogold.txt", [f"{a}\t{b}" for a, b, _ in PAIRS[:2]])
    write_lines(folder / "STS.gs.notext.txt", ["1.0", "2.0"])


def write_stsbenchmark(folder: Path, capitalize: bool = False) -> None:
    for split in ("train", "dev", "test"):
        rows = []
        for i, (a, b, score) in enumerate(PAIRS):
            if capitalize:
                a, b = a.capitalize(), b.capitalize()
            row = f"main-captions\tMSRvid\t2012test\t{i:04d}\t{score}\t{a}\t{b}"
            # The original release has extra source columns on some lines, and quotes as text.
            rows.append(row + "\tsource one\tsource two" if i == 1 else row)
        rows.append('main-news\theadlines\t2016\t0099\t2.5\t"Quoted" start\tend "quoted"')
        write_lines(folder / f"sts-{split}.csv", rows)


def write_sick(folder: Path) -> None:
    header = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"
    for name, newline in (("SICK_train.txt", "\n"), ("SICK_trial.txt", "\n"), ("SICK_test_annotated.txt", "\r\n")):
        rows = [f"{i}\t{a}\t{b}\t{float(score) * 0.8 + 1:.1f}\tNEUTRAL" for i, (a, b, score) in enumerate(PAIRS)]
        write_lines(folder / name, [header, *rows], newline=newline)


def write_senteval_folder(tmp_path: Path) -> Path:
    """A SentEval-style data folder: downstream/STS/... and downstream/SICK/..., all tiny.

    Each STS year also holds an original release in a subfolder: STS12-15 with
    the SentEval file names, STS16 with ``STS2016.*`` names and four columns.
    """
    root = tmp_path / "senteval"
    sts = root / "downstream" / "STS"
    for year in STS_YEAR_FOLDERS:
        write_sts_year(sts / year)
    originals = {"STS12-en-test": "test-gold", "STS13-en-test": "test-gs", "STS14-en-test": "sts-en-test-gs-2014",
                 "STS15-en-test": "test_evaluation_task2a"}
    for year, release in originals.items():
        write_sts_year(sts / year / release)
    release16 = sts / "STS16-en-test" / "sts2016-english-with-gs-v1.0"
    write_lines(release16 / "STS2016.input.headlines.txt",
                [f"{a.capitalize()}\t{b.capitalize()}\tnote one\tnote two" for a, b, _ in PAIRS])
    write_lines(release16 / "STS2016.gs.headlines.txt", ["4.8", "", "3.6", "4.2", "", "5.0"])
    write_stsbenchmark(sts / "STSBenchmark")
    write_sick(root / "downstream" / "SICK")
    return root


def write_original_stsb(tmp_path: Path) -> Path:
    """An original-casing STS Benchmark folder (sts-{train,dev,test}.csv)."""
    folder = tmp_path / "stsbenchmark"
    write_stsbenchmark(folder, capitalize=True)
    return folder
