"""A deterministic generator of star-rated reviews of ONE imaginary web shop, shaped like real ones.

The shop is *Lunehus* (home textiles and coffee gear), with its own product names (Fjordplaid, Askekværn,
Havbrise-dynen, Lyngkrus, Bølgekanden, Nordstjerne-lampen), its courier (FlexPost) and its loyalty programme
(Lunehus Plus, "lunepoints"). Reviews are in Danish (the largest share), Dutch and English, and mix the shapes
real shops get: one-word verdicts, plain praise and complaints of varied length, 3-star mixed reviews, stories of
a problem that was solved (4–5 stars) or not (1–2 stars), understatement and faint praise, typos, emoji, and
label noise (a 4-star review with a complaint, a 2-star one with faint praise, the odd star given by mistake).
Every phrase pool is written here, independently of the anchor sentences and the hand-labelled test data, so a
model trained on these texts learns the shop's words, not the test set's.

``rated_reviews(n, seed)`` returns a DataFrame with columns ``text``, ``stars`` (1–5) and ``language``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

LANGUAGE_SHARES = {"da": 0.6, "nl": 0.25, "en": 0.15}
STAR_SHARES = {5: 0.50, 4: 0.18, 3: 0.09, 2: 0.07, 1: 0.16}  # J-shaped, as on review sites
PRODUCTS = ("Fjordplaid", "Askekværn", "Havbrise-dynen", "Lyngkrus", "Bølgekanden", "Nordstjerne-lampen")
PRODUCTS_EN = ("Fjord throw", "Aske grinder", "Havbrise duvet", "Lyng mug", "Bølge jug", "Nordstjerne lamp")
PRODUCTS_NL = ("Fjordplaid", "Aske-molen", "Havbrise dekbed", "Lyng mok", "Bølge kan", "Nordstjerne lamp")
EMOJI_POS = ("😊", "👍", "❤️", "🙂", "⭐⭐⭐⭐⭐", "😍")
EMOJI_NEG = ("😡", "👎", "😞", "🙁", "😤")

# One pool per language; {p} is a product, {c} the courier, {club} the loyalty programme.
POOLS: dict[str, dict[str, tuple[str, ...]]] = {
    "da": {
        "short_pos": (
            "Super",
            "Top",
            "Perfekt!",
            "Kan anbefales",
            "Godt",
            "Fin service",
            "Alt ok 👍",
            "Tip top",
            "5 stjerner herfra",
            "Rigtig fint",
            "Hurtigt og nemt",
            "Meget tilfreds",
        ),
        "short_neg": (
            "Elendigt",
            "Aldrig igen",
            "Skuffet",
            "Dårlig service",
            "Ikke godt",
            "Spild af penge",
            "Uacceptabelt",
            "Hold jer væk",
        ),
        "short_neu": ("Ok", "Det var ok", "Middel", "Nja", "Helt ok, intet særligt", "Fint nok vel"),
        "open_pos": (
            "Endnu en god handel hos Lunehus.",
            "Har handlet her flere gange og er altid glad.",
            "Første gang jeg handler her, og det bliver ikke den sidste.",
            "Jeg er virkelig glad for min bestilling.",
            "Kæmpe ros til Lunehus!",
            "Nemt at finde det jeg skulle bruge på siden.",
        ),
        "open_neg": (
            "Jeg er meget skuffet over Lunehus.",
            "Desværre en dårlig oplevelse denne gang.",
            "Det her er min sidste ordre hos jer.",
            "Jeg har aldrig oplevet noget lignende.",
            "Hvor er jeg træt af det her firma.",
        ),
        "open_neu": (
            "Bestilte i sidste uge.",
            "Jeg købte en gave til min mor.",
            "Det var min første ordre.",
            "Bestilte via appen en søndag aften.",
            "Jeg har handlet her et par gange før.",
        ),
        "product_pos": (
            "{p} er helt fantastisk, blød og lækker.",
            "{p} er præcis som på billedet.",
            "Kvaliteten af {p} er i top.",
            "{p} er blevet hele familiens favorit.",
            "Elsker min nye {p}, den er så smuk.",
            "{p} holder hvad den lover.",
        ),
        "product_neg": (
            "{p} gik i stykker efter to uger.",
            "{p} ligner slet ikke billedet.",
            "Kvaliteten af {p} er ringe, den fnuldrer allerede.",
            "{p} lugtede af kemikalier.",
            "{p} var ridset da jeg pakkede den ud.",
            "{p} er alt for lille i forhold til prisen.",
        ),
        "product_neu": (
            "{p} er i den grå farve.",
            "Jeg bestilte {p} i stor størrelse.",
            "{p} fylder lidt mere end forventet.",
            "{p} skal vaskes før brug.",
        ),
        "delivery_pos": (
            "Levering med {c} gik lynhurtigt.",
            "Pakken kom allerede dagen efter.",
            "{c} leverede til tiden og chaufføren var flink.",
            "Fin indpakning og hurtig levering.",
            "Kunne følge pakken hele vejen hos {c}.",
        ),
        "delivery_neg": (
            "Pakken kom en uge for sent.",
            "{c} smed pakken i regnvejret foran døren.",
            "{c} påstod de havde været her, men ingen ringede på.",
            "Leveringen tog over to uger.",
            "Pakken var helt mast da {c} kom med den.",
        ),
        "service_pos": (
            "Kundeservice var søde og hjælpsomme.",
            "Fik svar på min mail inden for en time.",
            "Medarbejderen i chatten var super venlig.",
            "Kundeservice tog sig godt af mig.",
        ),
        "service_neg": (
            "Kundeservice svarer ikke på mails.",
            "Har ventet i røret i 40 minutter.",
            "Chatten lukker bare ned midt i samtalen.",
            "Kundeservice var direkte uhøflige.",
        ),
        "problem": (
            "{p} kom i stykker i pakken.",
            "Der manglede en del i pakken.",
            "Jeg fik den forkerte farve af {p}.",
            "{c} leverede pakken til den forkerte adresse.",
            "Min ordre blev trukket to gange på kortet.",
            "{p} havde en fejl fra starten.",
            "Pakken blev væk hos {c}.",
        ),
        "solved": (
            "Kundeservice sendte en ny {p} med det samme.",
            "Pengene var tilbage på kontoen dagen efter.",
            "De løste det i ét opkald.",
            "En ny pakke var fremme to dage senere.",
            "Jeg fik endda et gavekort som plaster på såret.",
            "Til sidst endte alt godt.",
            "De tog det helt uden besvær og ordnede det hurtigt.",
        ),
        "unsolved": (
            "Stadig intet svar efter tre mails.",
            "De nægter at tage den retur.",
            "Jeg venter stadig på mine penge efter en måned.",
            "Ingen vil tage ansvar for det.",
            "Kundeservice henviser bare til {c}, og {c} henviser til jer.",
            "Jeg har skrevet fem gange uden at få hjælp.",
        ),
        "understate_pos": (
            "Kan ikke klage.",
            "Ikke dårligt overhovedet.",
            "Intet at udsætte.",
            "Jeg blev bestemt ikke skuffet.",
            "Har prøvet meget værre.",
            "Ingen klager herfra.",
        ),
        "faint_neg": (
            "Kunne godt være bedre.",
            "Ikke ligefrem imponerende.",
            "Har set bedre.",
            "Det er ikke det jeg vil kalde hurtigt.",
            "Tja, man får vel hvad man betaler for.",
        ),
        "club_pos": (
            "Lunepoints fra {club} gav en fin rabat.",
            "Medlem af {club}, og fordelene er gode.",
            "Fik fri fragt fordi jeg er i {club}.",
        ),
        "club_neg": (
            "Mine lunepoints fra {club} forsvandt bare.",
            "{club} er ren fup, rabatten virker aldrig.",
            "Rabatkoden fra {club} virkede ikke.",
        ),
        "club_neu": ("Jeg har været medlem af {club} i et år.", "Jeg brugte mine lunepoints fra {club}."),
        "verdict_pos": (
            "Kan varmt anbefales!",
            "Jeg handler her igen.",
            "5 stjerner fra mig.",
            "Tak for god service!",
            "Bedste webshop til boligting.",
            "Klart anbefalelsesværdigt.",
        ),
        "verdict_neg": (
            "Jeg handler aldrig her igen.",
            "Kan ikke anbefales.",
            "Find en anden butik.",
            "Én stjerne er for meget.",
            "Meget utilfredsstillende.",
        ),
        "verdict_mix": (
            "Så alt i alt middel.",
            "Tre stjerner for det.",
            "Blandede følelser.",
            "Ikke dårligt, ikke godt.",
            "Måske prøver jeg igen, måske ikke.",
        ),
        "minor_complaint": (
            "Emballagen var dog lidt overdreven.",
            "Lidt dyr fragt, men ellers fint.",
            "Farven var en anelse mørkere end forventet.",
        ),
        "faint_praise": (
            "{p} er da pæn nok.",
            "Leveringen var da hurtig.",
            "Siden er nem at bruge, det skal de have.",
        ),
        "but": ("men", "men til gengæld", "dog"),
    },
    "nl": {
        "short_pos": (
            "Top",
            "Super!",
            "Prima",
            "Aanrader",
            "Alles goed",
            "Snel en goed",
            "Heel tevreden",
            "Perfect 👍",
            "Dikke 10",
        ),
        "short_neg": (
            "Slecht",
            "Nooit meer",
            "Teleurgesteld",
            "Waardeloos",
            "Oplichters",
            "Niet aan te raden",
        ),
        "short_neu": ("Ok", "Gaat wel", "Redelijk", "Niks bijzonders", "Matig"),
        "open_pos": (
            "Weer een fijne bestelling bij Lunehus.",
            "Ik bestel hier vaker en ben altijd blij.",
            "Eerste keer besteld en zeker niet de laatste.",
            "Heel blij met mijn aankoop!",
            "Complimenten aan Lunehus.",
        ),
        "open_neg": (
            "Wat een teleurstelling.",
            "Helaas een slechte ervaring deze keer.",
            "Dit is mijn laatste bestelling bij jullie.",
            "Nog nooit zoiets meegemaakt.",
        ),
        "open_neu": (
            "Vorige week besteld.",
            "Ik kocht een cadeau voor mijn zus.",
            "Mijn eerste bestelling.",
            "Besteld via de app op zondagavond.",
        ),
        "product_pos": (
            "De {p} is prachtig en heel zacht.",
            "De {p} is precies zoals op de foto.",
            "Kwaliteit van de {p} is top.",
            "Ik ben dol op mijn nieuwe {p}.",
            "De {p} doet wat hij belooft.",
        ),
        "product_neg": (
            "De {p} ging na twee weken kapot.",
            "De {p} lijkt totaal niet op de foto.",
            "De kwaliteit van de {p} is bedroevend.",
            "De {p} stonk naar chemicaliën.",
            "De {p} zat vol krassen.",
        ),
        "product_neu": (
            "De {p} heb ik in het grijs genomen.",
            "Ik bestelde de {p} in de grote maat.",
            "De {p} moet eerst gewassen worden.",
        ),
        "delivery_pos": (
            "Bezorging met {c} ging razendsnel.",
            "Pakket was er de volgende dag al.",
            "{c} bezorgde netjes op tijd.",
            "Goed ingepakt en snel geleverd.",
        ),
        "delivery_neg": (
            "Het pakket kwam een week te laat.",
            "{c} heeft het pakket in de regen gezet.",
            "{c} zegt dat ze geweest zijn, maar er werd niet aangebeld.",
            "Levering duurde meer dan twee weken.",
            "Doos was helemaal geplet door {c}.",
        ),
        "service_pos": (
            "Klantenservice was vriendelijk en behulpzaam.",
            "Binnen een uur antwoord op mijn mail.",
            "De medewerker in de chat was super aardig.",
        ),
        "service_neg": (
            "Klantenservice reageert niet op mails.",
            "40 minuten in de wacht gestaan.",
            "De klantenservice was ronduit onbeleefd.",
        ),
        "problem": (
            "De {p} was kapot bij aankomst.",
            "Er ontbrak een onderdeel.",
            "Ik kreeg de verkeerde kleur.",
            "{c} bezorgde op het verkeerde adres.",
            "Mijn bestelling werd twee keer afgeschreven.",
            "Het pakket raakte kwijt bij {c}.",
        ),
        "solved": (
            "Klantenservice stuurde meteen een nieuwe {p}.",
            "Het geld stond de volgende dag terug.",
            "Ze losten het in één telefoontje op.",
            "Twee dagen later was er een nieuw pakket.",
            "Uiteindelijk is alles goed gekomen.",
            "Ik kreeg zelfs een tegoedbon als excuus.",
        ),
        "unsolved": (
            "Nog steeds geen antwoord na drie mails.",
            "Ze weigeren het terug te nemen.",
            "Ik wacht na een maand nog steeds op mijn geld.",
            "Niemand neemt verantwoordelijkheid.",
            "Klantenservice verwijst naar {c} en {c} weer naar jullie.",
        ),
        "understate_pos": (
            "Niets op aan te merken.",
            "Helemaal niet slecht.",
            "Ik mag niet klagen.",
            "Zeker niet teleurgesteld.",
            "Geen klachten hier.",
        ),
        "faint_neg": (
            "Kan beter.",
            "Niet bepaald geweldig.",
            "Ik heb beter gezien.",
            "Niet wat ik snel zou noemen.",
            "Tja, je krijgt waar je voor betaalt.",
        ),
        "club_pos": (
            "Met mijn lunepoints van {club} kreeg ik mooie korting.",
            "Als lid van {club} gratis verzending.",
        ),
        "club_neg": (
            "Mijn lunepoints van {club} zijn gewoon verdwenen.",
            "De kortingscode van {club} werkte niet.",
        ),
        "club_neu": ("Ik ben al een jaar lid van {club}.", "Ik heb mijn lunepoints van {club} gebruikt."),
        "verdict_pos": (
            "Zeker een aanrader!",
            "Ik bestel hier zeker weer.",
            "Vijf sterren van mij.",
            "Bedankt voor de goede service!",
            "Beste webshop voor woonspullen.",
        ),
        "verdict_neg": (
            "Ik bestel hier nooit meer.",
            "Niet aan te raden.",
            "Zoek een andere winkel.",
            "Eén ster is nog te veel.",
        ),
        "verdict_mix": (
            "Al met al middelmatig.",
            "Daarom drie sterren.",
            "Gemengde gevoelens.",
            "Niet slecht, niet goed.",
        ),
        "minor_complaint": (
            "De verpakking was wel wat overdreven.",
            "Verzendkosten vrij hoog, verder prima.",
            "Kleur was iets donkerder dan verwacht.",
        ),
        "faint_praise": (
            "De {p} is op zich wel mooi.",
            "De levering was wel snel.",
            "De site werkt makkelijk, dat wel.",
        ),
        "but": ("maar", "maar wel", "alleen"),
    },
    "en": {
        "short_pos": (
            "Great",
            "Excellent!",
            "Love it",
            "Highly recommend",
            "All good",
            "Fast and easy",
            "Very happy",
            "Perfect 👍",
        ),
        "short_neg": ("Terrible", "Never again", "Disappointed", "Awful service", "Avoid", "Waste of money"),
        "short_neu": ("Ok", "Fine I guess", "Average", "Nothing special", "Meh"),
        "open_pos": (
            "Another great order from Lunehus.",
            "I've ordered here many times and I'm always happy.",
            "First order and definitely not the last.",
            "Really pleased with my purchase!",
        ),
        "open_neg": (
            "Very disappointed with Lunehus.",
            "Unfortunately a bad experience this time.",
            "This is my last order with you.",
            "Never experienced anything like this.",
        ),
        "open_neu": (
            "Ordered last week.",
            "Bought a present for my mum.",
            "It was my first order.",
            "Ordered through the app on a Sunday night.",
        ),
        "product_pos": (
            "The {p} is gorgeous and really soft.",
            "The {p} looks exactly like the photos.",
            "Quality of the {p} is top notch.",
            "Absolutely love my new {p}.",
            "The {p} does what it says.",
        ),
        "product_neg": (
            "The {p} broke after two weeks.",
            "The {p} looks nothing like the photos.",
            "Quality of the {p} is poor, it's already pilling.",
            "The {p} smelled of chemicals.",
            "The {p} arrived scratched.",
        ),
        "product_neu": (
            "I got the {p} in grey.",
            "I ordered the {p} in the large size.",
            "The {p} needs washing before use.",
        ),
        "delivery_pos": (
            "Delivery with {c} was super quick.",
            "The parcel arrived the next day.",
            "{c} delivered right on time.",
            "Nicely packed and quickly delivered.",
        ),
        "delivery_neg": (
            "The parcel was a week late.",
            "{c} left the parcel out in the rain.",
            "{c} claimed they came by but nobody rang the bell.",
            "Delivery took over two weeks.",
            "The box was crushed when {c} brought it.",
        ),
        "service_pos": (
            "Customer service were lovely and helpful.",
            "Got a reply to my email within an hour.",
            "The agent on the chat was really friendly.",
        ),
        "service_neg": (
            "Customer service never answer emails.",
            "Spent 40 minutes on hold.",
            "Customer service were downright rude.",
        ),
        "problem": (
            "The {p} arrived broken.",
            "A part was missing.",
            "I got the wrong colour.",
            "{c} delivered to the wrong address.",
            "I was charged twice for my order.",
            "The parcel got lost with {c}.",
        ),
        "solved": (
            "Customer service sent a new {p} straight away.",
            "The refund was in my account the next day.",
            "They sorted it out in one call.",
            "A new parcel arrived two days later.",
            "In the end everything worked out.",
            "They even gave me a voucher to make up for it.",
        ),
        "unsolved": (
            "Still no answer after three emails.",
            "They refuse to take it back.",
            "A month later I'm still waiting for my refund.",
            "Nobody takes responsibility.",
            "Customer service blame {c} and {c} blame you.",
        ),
        "understate_pos": (
            "Can't complain.",
            "Not bad at all.",
            "Nothing to fault.",
            "Wasn't disappointed.",
            "No complaints here.",
        ),
        "faint_neg": (
            "Could be better.",
            "Not exactly great.",
            "I've seen better.",
            "Not what I'd call fast.",
            "Well, you get what you pay for.",
        ),
        "club_pos": ("My lunepoints from {club} gave a nice discount.", "Free shipping as a {club} member."),
        "club_neg": ("My {club} lunepoints just vanished.", "The {club} discount code didn't work."),
        "club_neu": ("I've been a {club} member for a year.", "I used my {club} lunepoints."),
        "verdict_pos": (
            "Highly recommended!",
            "Will order again.",
            "Five stars from me.",
            "Thanks for the great service!",
            "Best shop for homeware.",
        ),
        "verdict_neg": (
            "Never ordering here again.",
            "Can't recommend.",
            "Shop elsewhere.",
            "One star is too many.",
        ),
        "verdict_mix": (
            "So all in all average.",
            "Hence three stars.",
            "Mixed feelings.",
            "Not bad, not great.",
        ),
        "minor_complaint": (
            "Packaging was a bit excessive though.",
            "Shipping was a bit pricey, otherwise fine.",
            "Colour was slightly darker than expected.",
        ),
        "faint_praise": (
            "The {p} is pretty enough, I suppose.",
            "Delivery was quick, I'll give them that.",
            "The website is easy to use at least.",
        ),
        "but": ("but", "but then again", "though"),
    },
}
PRODUCT_NAMES = {"da": PRODUCTS, "nl": PRODUCTS_NL, "en": PRODUCTS_EN}


def _typo(text: str, rng: np.random.Generator) -> str:
    """One keyboard slip: a swapped, dropped or doubled letter inside a word."""
    idx = [i for i in range(1, len(text) - 1) if text[i].isalpha() and text[i - 1].isalpha()]
    if not idx:
        return text
    i = int(rng.choice(idx))
    kind = rng.integers(3)
    if kind == 0 and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


class _Writer:
    """Composes one review from a language's pools."""

    def __init__(self, language: str, rng: np.random.Generator) -> None:
        self.pool = POOLS[language]
        self.products = PRODUCT_NAMES[language]
        self.rng = rng

    def pick(self, key: str) -> str:
        s = str(self.rng.choice(self.pool[key]))
        return s.format(p=str(self.rng.choice(self.products)), c="FlexPost", club="Lunehus Plus")

    def some(self, keys: Sequence[str], k: int) -> list[str]:
        """``k`` sentences from pools drawn from ``keys`` (in the order drawn)."""
        return [self.pick(str(self.rng.choice(keys))) for _ in range(k)]

    def length(self) -> int:
        """Sentences in a plain review: mostly one to four, now and then a long one of up to nine."""
        return int(self.rng.integers(5, 10)) if self.rng.random() < 0.12 else int(self.rng.integers(1, 5))

    def join_but(self, good: str, bad: str) -> str:
        """ "good, but bad" in one sentence."""
        b = self.pick("but")
        return f"{good.rstrip('.!')}, {b} {bad[0].lower()}{bad[1:]}"

    def review(self, stars: int) -> str:
        r = self.rng
        shape = r.random()
        if stars >= 4:
            if shape < 0.15:
                return self.pick("short_pos")
            if shape < 0.30:  # a problem solved
                parts = [self.pick("open_neu")] if r.random() < 0.4 else []
                parts += [self.pick("problem"), self.pick("solved")]
                parts += self.some(["verdict_pos", "service_pos", "understate_pos"], int(r.integers(1, 3)))
                return " ".join(parts)
            if shape < 0.40:  # understatement
                return " ".join([self.pick("understate_pos"), *self.some(["delivery_pos", "product_pos"], 1)])
            if shape < 0.50 and stars == 4:  # a complaint in a 4-star review
                return " ".join([self.pick("product_pos"), self.pick("minor_complaint")])
            keys = ["product_pos", "delivery_pos", "service_pos", "club_pos", "product_neu", "club_neu"]
            parts = [self.pick("open_pos")] if r.random() < 0.5 else []
            parts += self.some(keys, self.length())
            if r.random() < 0.6:
                parts.append(self.pick("verdict_pos"))
            return " ".join(parts)
        if stars == 3:
            if shape < 0.2:
                return self.pick("short_neu")
            if shape < 0.6:
                good = self.pick(str(r.choice(["product_pos", "delivery_pos", "service_pos"])))
                bad = self.pick(str(r.choice(["product_neg", "delivery_neg", "service_neg", "club_neg"])))
                pair = [good, bad] if r.random() < 0.6 else [bad, good]
                parts = [self.join_but(*pair)] if r.random() < 0.6 else pair
                if r.random() < 0.6:
                    parts.append(self.pick("verdict_mix"))
                return " ".join(parts)
            if shape < 0.8:
                return " ".join(
                    [*self.some(["open_neu", "product_neu", "club_neu"], 2), self.pick("faint_neg")]
                )
            return " ".join([self.pick("problem"), self.pick("solved"), self.pick("verdict_mix")])
        # 1–2 stars
        if shape < 0.15:
            return self.pick("short_neg")
        if shape < 0.40:  # a problem not solved
            parts = [self.pick("open_neu")] if r.random() < 0.4 else []
            parts += [self.pick("problem"), *self.some(["unsolved", "service_neg"], int(r.integers(1, 3)))]
            if r.random() < 0.6:
                parts.append(self.pick("verdict_neg"))
            return " ".join(parts)
        if shape < 0.50:  # faint praise
            return " ".join([self.pick("faint_neg"), *self.some(["product_neu", "delivery_neg"], 1)])
        if shape < 0.60 and stars == 2:  # a kind word in a 2-star review
            return " ".join([self.pick("faint_praise"), self.pick("product_neg")])
        keys = ["product_neg", "delivery_neg", "service_neg", "club_neg", "product_neu", "club_neu"]
        parts = [self.pick("open_neg")] if r.random() < 0.5 else []
        parts += self.some(keys, self.length())
        if r.random() < 0.6:
            parts.append(self.pick("verdict_neg"))
        return " ".join(parts)


def _dress(text: str, stars: int, rng: np.random.Generator) -> str:
    """What customers do to a text: typos, lower case, missing full stops, emoji, shouting."""
    if rng.random() < 0.2:
        for _ in range(int(rng.integers(1, 3))):
            text = _typo(text, rng)
    if rng.random() < 0.1:
        text = text.lower()
    if rng.random() < 0.1:
        text = text.replace(".", "")
    if rng.random() < 0.08:
        text = f"{text} {rng.choice(EMOJI_POS if stars >= 4 else EMOJI_NEG if stars <= 2 else ('🤷',))}"
    if stars == 1 and rng.random() < 0.05:
        text = text.upper()
    return text


def rated_reviews(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """``n`` reviews of the Lunehus shop (deterministic for ``seed``): columns text, stars, language."""
    rng = np.random.default_rng(seed)
    langs = rng.choice(list(LANGUAGE_SHARES), size=n, p=list(LANGUAGE_SHARES.values()))
    stars = rng.choice(list(STAR_SHARES), size=n, p=list(STAR_SHARES.values()))
    writers = {lang: _Writer(lang, rng) for lang in LANGUAGE_SHARES}
    texts = [_dress(writers[str(lg)].review(int(s)), int(s), rng) for lg, s in zip(langs, stars, strict=True)]
    # stars given by mistake (a 1 meant as "number one", a 5 on a complaint): about 2%
    slip = rng.random(n) < 0.02
    stars = np.where(slip, 6 - stars, stars)
    return pd.DataFrame({"text": texts, "stars": stars.astype(int), "language": langs.astype(str)})
