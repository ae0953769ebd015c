"""Deterministic corpus of real-length multilingual web-shop reviews, for throughput benchmarks.

The demo store's feedback texts are one-liners; real reviews are longer (median ~250 characters, mean ~400, a long
tail to several thousand), and embedding/sentiment cost grows with length, so benchmarks on demo texts flatter the
pipeline. This module composes reviews in Danish, Dutch, English, German and French from hand-written sentence
pools (openings, product remarks, delivery, service stories of a problem and its outcome, comparisons, verdicts,
closings) with star ratings consistent with the content (1-2 negative, 3 mixed, 4-5 positive). Target lengths
come from a lognormal drawn by stratified sampling, so every ``n`` and seed gets nearly the same distribution;
sentences are added whole until the target is reached (no text is cut), long ones are multi-paragraph rambles.

    python bench/review_corpus.py --n 600 --seed 0 --out reviews.csv
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

LANGUAGES: tuple[str, ...] = ("da", "nl", "en", "de", "fr")
STAR_SHARES = (0.12, 0.07, 0.11, 0.22, 0.48)  # the J shape of web-shop ratings
LOG_MEDIAN = (
    5.37  # target-length lognormal; whole sentences overshoot the target, so this is set below ln(250)
)
LOG_SIGMA = 1.05
MAX_TARGET = 7000  # a last sentence or two may still be added past it, so texts stay under ~7,500 characters


@dataclass(frozen=True)
class Review:
    """One generated review: ISO 639-1 language, 1-5 stars and the text (paragraphs separated by newlines)."""

    language: str
    stars: int
    text: str


def _lines(block: str) -> list[str]:
    return [s.strip() for s in block.strip().splitlines() if s.strip()]


# Sentence pools. Slots: {product}/{Product} (definite form, lower/capitalised), {noun} (bare noun), {other}
# (another product, definite), {courier}, {name} (support agent), {d} days, {w} weeks, {m} minutes, {k} order no.
# Products are of one grammatical gender per language (common in da, de-words in nl, feminine in de and fr) so
# pronouns and adjectives in the templates agree.
_POOLS: dict[str, dict[str, str]] = {
    "en": {
        "open": """
Ordered {product} last week.
I bought {product} as a birthday present for my wife.
First time ordering from this shop.
I've ordered from here a few times now.
Long time customer here, so I'll try to be fair.
So, where do I start.
Ok so I ordered {product} on a Sunday evening.
Bought {product} after reading a lot of reviews.
""",
        "prod+": """
{Product} is exactly as described on the website.
The quality is really good for the price.
Beautiful colour, looks even better in real life.
Fits perfectly, I normally take a medium and the medium was spot on.
Very well made, nothing about it feels cheap.
{Product} feels solid and the finish is lovely.
It was easy to put together, took maybe ten minutes.
My daughter loves it and uses it every day.
Great value, I'd honestly have paid more for this.
After {w} weeks of daily use it still looks brand new.
""",
        "prod-": """
{Product} looks nothing like the photos.
The material feels cheap and thin.
After {d} days the zip broke.
It smells of chemicals, even after airing it out for a week.
Way too small, the size chart is completely off.
One side was scratched and the screws did not fit.
The colour is much darker than on the website.
It stopped working after {w} weeks.
Honestly not worth half the price.
The seams were already coming apart when I unpacked it.
""",
        "prod~": """
The quality is ok, nothing special but not bad either.
Looks nice, but the instructions were useless.
It does the job, although it's a bit louder than I expected.
The only downside is that it's quite heavy.
Nice design, the fit is a bit tight around the shoulders though.
""",
        "deliv+": """
Delivery was fast, {f} days to my door.
Arrived the next day with {courier}, well packed.
The parcel was packed carefully with no plastic, which I appreciate.
I got tracking info straight away and the driver was friendly.
Came a day earlier than promised!
""",
        "deliv-": """
Delivery took {s} days instead of the promised 2-3.
{courier} left the parcel in the rain outside my door.
The box was crushed and half open when it arrived.
The tracking didn't update for a week, nobody knew where the parcel was.
I had to pick it up at a parcel shop 5 km away even though I paid for home delivery.
""",
        "prob": """
When I opened the box, the wrong size was inside.
Unfortunately one part was missing from the package.
The first one I got was damaged in transport.
I was charged twice for the same order (#{k}).
My order was marked as delivered but nothing arrived.
""",
        "contact": """
I wrote to customer service the same evening.
I called the hotline and waited about {m} minutes before someone answered.
I used the chat on the website and spoke to {name}.
I sent photos by email as they asked.
""",
        "fix": """
{name} was really helpful and sent a replacement right away, no questions asked.
They refunded the money within {d} days.
A new one arrived two days later and this time everything was perfect.
They apologised and gave me a 15% discount code for next time, which was a nice touch.
It took a couple of emails but in the end they sorted it out.
""",
        "nofix": """
Nobody replied for {d} days and then I got a standard answer that didn't help at all.
They told me it was the courier's fault and that there was nothing they could do.
I'm still waiting for my refund after {w} weeks.
They asked me to pay the return shipping myself for their mistake.
Every time I call I get a different person and a different story.
""",
        "cmp+": """
Much better than the one I bought in a shop last year for twice the price.
Compared to other webshops, the service here is in a different league.
Better quality than the big brands, honestly.
""",
        "cmp-": """
My old one from IKEA was better and cheaper.
Other shops deliver in two days, so I don't see why it takes so long here.
I've had better experiences with cheaper shops.
""",
        "use": """
We've been using it for {w} weeks now.
I mainly use it at the weekends.
It was a gift for my mum, so I asked her opinion too.
For context, I'm quite picky about these things.
Anyway, back to {product}.
I also ordered {other} at the same time.
""",
        "v1": """
Terrible. Never again.
1 star because 0 is not possible.
Very disappointed with both the product and the service.
""",
        "v2": """
Not great, not what I expected.
Disappointing overall.
I expected more for this price.
""",
        "v3": """
Mixed feelings overall.
It's ok, but there is room for improvement.
Average. Does the job.
""",
        "v4": """
Overall I'm happy with my purchase.
Good product, just a few small things.
Recommended, with a small reservation.
""",
        "v5": """
Super happy!
Highly recommend!!
Everything perfect, 5 stars.
""",
        "close+": """
Will definitely order again.
Thanks a lot!
Keep up the good work.
""",
        "close~": """
We'll see if I order again.
Hope this helps someone.
""",
        "close-": """
Avoid this shop.
Save your money.
I've already told my friends not to order here.
""",
    },
    "da": {
        "open": """
Bestilte {product} i sidste uge.
Jeg købte {product} som fødselsdagsgave til min kone.
Første gang jeg handler her.
Jeg har handlet her et par gange efterhånden.
Har været kunde længe, så jeg prøver at være fair.
Nå, hvor skal jeg starte.
Ok, jeg bestilte {product} en søndag aften.
Købte {product} efter at have læst en masse anmeldelser.
""",
        "prod+": """
{Product} er præcis som beskrevet på hjemmesiden.
Kvaliteten er rigtig god til prisen.
Flot farve, ser endnu bedre ud i virkeligheden.
Passer perfekt, jeg plejer at tage medium og det passede lige på.
Rigtig godt lavet, intet ved den føles billigt.
{Product} føles solid og finishen er lækker.
Den var nem at samle, tog måske ti minutter.
Min datter er vild med den og bruger den hver dag.
Super god værdi for pengene, jeg ville ærligt talt have betalt mere.
Efter {w} ugers daglig brug ser den stadig helt ny ud.
""",
        "prod-": """
{Product} ligner slet ikke billederne.
Materialet føles billigt og tyndt.
Efter {d} dage gik lynlåsen i stykker.
Den lugter af kemikalier, selv efter en uges udluftning.
Alt for lille, størrelsesguiden passer slet ikke.
Den ene side var ridset og skruerne passede ikke.
Farven er meget mørkere end på hjemmesiden.
Den holdt op med at virke efter {w} uger.
Ærligt talt ikke halvdelen af prisen værd.
Sømmene var allerede ved at gå op, da jeg pakkede den ud.
""",
        "prod~": """
Kvaliteten er ok, ikke noget særligt men heller ikke dårlig.
Ser fin ud, men vejledningen var ubrugelig.
Den gør hvad den skal, selvom den larmer lidt mere end forventet.
Det eneste minus er at den er ret tung.
Flot design, men den sidder lidt stramt over skuldrene.
""",
        "deliv+": """
Hurtig levering, {f} dage til døren.
Kom dagen efter med {courier}, godt pakket ind.
Pakken var pakket omhyggeligt og uden plastik, det sætter jeg pris på.
Jeg fik track and trace med det samme og chaufføren var flink.
Kom en dag før lovet!
""",
        "deliv-": """
Leveringen tog {s} dage i stedet for de lovede 2-3.
{courier} stillede pakken i regnvejr uden for døren.
Kassen var mast og halvt åben, da den kom.
Sporingen blev ikke opdateret i en uge, ingen vidste hvor pakken var.
Jeg måtte hente den i en pakkeshop 5 km væk, selvom jeg havde betalt for levering til døren.
""",
        "prob": """
Da jeg åbnede kassen, lå der den forkerte størrelse.
Desværre manglede der en del i pakken.
Den første jeg fik var gået i stykker under transporten.
Jeg blev trukket to gange for den samme ordre (#{k}).
Min ordre stod som leveret, men der kom ingenting.
""",
        "contact": """
Jeg skrev til kundeservice samme aften.
Jeg ringede og ventede ca. {m} minutter, før der var nogen der tog den.
Jeg brugte chatten på hjemmesiden og talte med {name}.
Jeg sendte billeder på mail, som de bad om.
""",
        "fix": """
{name} var virkelig hjælpsom og sendte en ny med det samme, uden spørgsmål.
De refunderede pengene inden for {d} dage.
En ny kom to dage senere og denne gang var alt perfekt.
De undskyldte og gav mig en rabatkode på 15% til næste gang, det var en god gestus.
Det tog et par mails, men til sidst fik de det løst.
""",
        "nofix": """
Ingen svarede i {d} dage, og så fik jeg et standardsvar der slet ikke hjalp.
De sagde at det var fragtfirmaets skyld og at de ikke kunne gøre noget.
Jeg venter stadig på mine penge efter {w} uger.
De bad mig selv betale returfragten for deres fejl.
Hver gang jeg ringer, får jeg en ny person og en ny historie.
""",
        "cmp+": """
Meget bedre end den jeg købte i en butik sidste år til den dobbelte pris.
Sammenlignet med andre webshops er servicen her i en helt anden klasse.
Bedre kvalitet end de store mærker, helt ærligt.
""",
        "cmp-": """
Min gamle fra IKEA var bedre og billigere.
Andre butikker leverer på to dage, så jeg forstår ikke hvorfor det tager så lang tid her.
Jeg har haft bedre oplevelser med billigere butikker.
""",
        "use": """
Vi har brugt den i {w} uger nu.
Jeg bruger den mest i weekenderne.
Den var en gave til min mor, så jeg har også spurgt hende.
Til info er jeg ret kræsen med den slags.
Nå, tilbage til {product}.
Jeg bestilte også {other} samtidig.
""",
        "v1": """
Elendigt. Aldrig igen.
1 stjerne fordi 0 ikke er muligt.
Meget skuffet over både produktet og servicen.
""",
        "v2": """
Ikke godt, ikke hvad jeg forventede.
Skuffende alt i alt.
Jeg havde forventet mere til den pris.
""",
        "v3": """
Blandede følelser alt i alt.
Det er ok, men der er plads til forbedring.
Middel. Gør hvad den skal.
""",
        "v4": """
Alt i alt er jeg tilfreds med mit køb.
Godt produkt, bare et par småting.
Kan anbefales, med et lille forbehold.
""",
        "v5": """
Super glad!
Kan varmt anbefales!!
Alt perfekt, 5 stjerner.
""",
        "close+": """
Handler her helt sikkert igen.
Tusind tak!
Bliv ved med det gode arbejde.
""",
        "close~": """
Vi får se om jeg bestiller igen.
Håber det hjælper nogen.
""",
        "close-": """
Undgå denne butik.
Spar jeres penge.
Jeg har allerede sagt til mine venner at de ikke skal handle her.
""",
    },
    "nl": {
        "open": """
Vorige week {product} besteld.
Ik heb {product} gekocht als verjaardagscadeau voor mijn vrouw.
Eerste keer dat ik hier bestel.
Ik heb hier inmiddels een paar keer besteld.
Al jaren klant, dus ik probeer eerlijk te zijn.
Nou, waar zal ik beginnen.
Oké, ik had {product} op een zondagavond besteld.
{Product} gekocht nadat ik heel veel reviews had gelezen.
""",
        "prod+": """
{Product} is precies zoals beschreven op de website.
De kwaliteit is echt goed voor de prijs.
Mooie kleur, in het echt nog mooier.
Past perfect, ik heb normaal medium en dat klopte precies.
Heel goed afgewerkt, niets voelt goedkoop aan.
{Product} voelt stevig aan en de afwerking is prachtig.
Hij was makkelijk in elkaar te zetten, duurde misschien tien minuten.
Mijn dochter is er gek op en gebruikt hem elke dag.
Prima prijs-kwaliteitverhouding, ik had eerlijk gezegd meer willen betalen.
Na {w} weken dagelijks gebruik ziet hij er nog als nieuw uit.
""",
        "prod-": """
{Product} lijkt totaal niet op de foto's.
Het materiaal voelt goedkoop en dun aan.
Na {d} dagen was de rits al kapot.
Hij stinkt naar chemicaliën, zelfs na een week luchten.
Veel te klein, de maattabel klopt helemaal niet.
Een kant was bekrast en de schroeven pasten niet.
De kleur is veel donkerder dan op de website.
Na {w} weken deed hij het al niet meer.
Eerlijk gezegd nog niet de helft van het geld waard.
De naden lieten al los toen ik hem uitpakte.
""",
        "prod~": """
De kwaliteit is oké, niets bijzonders maar ook niet slecht.
Ziet er leuk uit, maar de handleiding was waardeloos.
Hij doet wat hij moet doen, al maakt hij wat meer lawaai dan verwacht.
Het enige nadeel is dat hij vrij zwaar is.
Mooi ontwerp, al zit hij wat krap bij de schouders.
""",
        "deliv+": """
Snelle levering, in {f} dagen bij mij thuis.
De volgende dag al bezorgd door {courier}, goed verpakt.
Het pakket was zorgvuldig verpakt zonder plastic, dat waardeer ik.
Ik kreeg meteen een track & trace en de bezorger was vriendelijk.
Een dag eerder dan beloofd!
""",
        "deliv-": """
De levering duurde {s} dagen in plaats van de beloofde 2-3.
{courier} heeft het pakket in de regen voor de deur gezet.
De doos was geplet en half open toen hij aankwam.
De track & trace werd een week lang niet bijgewerkt, niemand wist waar het pakket was.
Ik moest hem ophalen bij een afhaalpunt 5 km verderop, terwijl ik voor thuisbezorging had betaald.
""",
        "prob": """
Toen ik de doos opende, zat de verkeerde maat erin.
Helaas ontbrak er een onderdeel in het pakket.
De eerste die ik kreeg was beschadigd tijdens het transport.
Er werd twee keer afgeschreven voor dezelfde bestelling (#{k}).
Mijn bestelling stond op bezorgd, maar er is niets aangekomen.
""",
        "contact": """
Ik heb dezelfde avond nog de klantenservice gemaild.
Ik heb gebeld en zo'n {m} minuten in de wacht gestaan voordat er iemand opnam.
Ik heb de chat op de website gebruikt en gesproken met {name}.
Ik heb foto's gemaild zoals ze vroegen.
""",
        "fix": """
{name} was echt behulpzaam en stuurde meteen een nieuwe, zonder gezeur.
Ze hebben het geld binnen {d} dagen teruggestort.
Twee dagen later kwam er een nieuwe en deze keer was alles perfect.
Ze boden hun excuses aan en gaven me een kortingscode van 15% voor de volgende keer, netjes.
Het kostte een paar mailtjes, maar uiteindelijk hebben ze het opgelost.
""",
        "nofix": """
{d} dagen lang geen reactie en daarna een standaardantwoord waar ik niets aan had.
Ze zeiden dat het de schuld van de bezorger was en dat ze niets konden doen.
Na {w} weken wacht ik nog steeds op mijn geld.
Ik moest zelf de retourkosten betalen voor hun fout.
Elke keer als ik bel krijg ik iemand anders met een ander verhaal.
""",
        "cmp+": """
Veel beter dan die ik vorig jaar in een winkel kocht voor het dubbele.
Vergeleken met andere webshops is de service hier van een heel ander niveau.
Betere kwaliteit dan de grote merken, echt waar.
""",
        "cmp-": """
Mijn oude van de IKEA was beter en goedkoper.
Andere winkels leveren in twee dagen, dus ik snap niet waarom het hier zo lang duurt.
Ik heb betere ervaringen gehad bij goedkopere winkels.
""",
        "use": """
We gebruiken hem nu {w} weken.
Ik gebruik hem vooral in het weekend.
Het was een cadeau voor mijn moeder, dus ik heb het haar ook gevraagd.
Ter info: ik ben vrij kritisch met dit soort dingen.
Maar goed, terug naar {product}.
Ik had tegelijk ook {other} besteld.
""",
        "v1": """
Slecht. Nooit meer.
1 ster omdat 0 niet kan.
Zeer teleurgesteld in zowel het product als de service.
""",
        "v2": """
Niet goed, niet wat ik verwachtte.
Al met al teleurstellend.
Voor deze prijs had ik meer verwacht.
""",
        "v3": """
Gemengde gevoelens.
Het is oké, maar er is ruimte voor verbetering.
Gemiddeld. Doet wat het moet doen.
""",
        "v4": """
Al met al ben ik tevreden met mijn aankoop.
Goed product, alleen een paar kleine dingetjes.
Aanrader, met een kleine kanttekening.
""",
        "v5": """
Super blij!
Echt een aanrader!!
Alles perfect, 5 sterren.
""",
        "close+": """
Ik bestel hier zeker weer.
Bedankt!
Ga zo door.
""",
        "close~": """
We zullen zien of ik nog eens bestel.
Hoop dat iemand hier iets aan heeft.
""",
        "close-": """
Blijf weg bij deze winkel.
Zonde van je geld.
Ik heb mijn vrienden al gezegd hier niet te bestellen.
""",
    },
    "de": {
        "open": """
Habe {product} letzte Woche bestellt.
Ich habe {product} als Geburtstagsgeschenk für meine Frau gekauft.
Zum ersten Mal hier bestellt.
Ich habe hier inzwischen schon ein paar Mal bestellt.
Bin schon lange Kunde, also versuche ich fair zu bleiben.
Also, wo fange ich an.
Ok, ich habe {product} an einem Sonntagabend bestellt.
Habe {product} gekauft, nachdem ich viele Bewertungen gelesen hatte.
""",
        "prod+": """
{Product} ist genau wie auf der Website beschrieben.
Die Qualität ist für den Preis wirklich gut.
Schöne Farbe, in echt sogar noch schöner.
Passt perfekt, ich trage normalerweise M und das passte genau.
Sehr gut verarbeitet, nichts fühlt sich billig an.
{Product} fühlt sich stabil an und die Verarbeitung ist top.
Der Aufbau war einfach und hat vielleicht zehn Minuten gedauert.
Meine Tochter liebt sie und benutzt sie jeden Tag.
Super Preis-Leistungs-Verhältnis, ich hätte ehrlich gesagt mehr bezahlt.
Nach {w} Wochen täglicher Nutzung sieht sie noch aus wie neu.
""",
        "prod-": """
{Product} sieht überhaupt nicht aus wie auf den Fotos.
Das Material fühlt sich billig und dünn an.
Nach {d} Tagen war der Reißverschluss kaputt.
Sie riecht nach Chemie, selbst nach einer Woche Lüften.
Viel zu klein, die Größentabelle stimmt überhaupt nicht.
Eine Seite war zerkratzt und die Schrauben passten nicht.
Die Farbe ist viel dunkler als auf der Website.
Nach {w} Wochen hat sie schon nicht mehr funktioniert.
Ehrlich gesagt nicht mal die Hälfte des Preises wert.
Die Nähte gingen schon beim Auspacken auf.
""",
        "prod~": """
Die Qualität ist ok, nichts Besonderes, aber auch nicht schlecht.
Sieht gut aus, aber die Anleitung war unbrauchbar.
Sie erfüllt ihren Zweck, ist aber etwas lauter als erwartet.
Der einzige Nachteil ist, dass sie ziemlich schwer ist.
Schönes Design, an den Schultern sitzt sie allerdings etwas eng.
""",
        "deliv+": """
Schnelle Lieferung, {f} Tage bis vor die Haustür.
Kam schon am nächsten Tag mit {courier}, gut verpackt.
Das Paket war sorgfältig und ohne Plastik verpackt, das finde ich gut.
Ich bekam sofort die Sendungsverfolgung und der Fahrer war freundlich.
Einen Tag früher als angekündigt da!
""",
        "deliv-": """
Die Lieferung hat {s} Tage statt der versprochenen 2-3 gedauert.
{courier} hat das Paket im Regen vor der Tür abgestellt.
Der Karton war zerdrückt und halb offen, als er ankam.
Die Sendungsverfolgung wurde eine Woche lang nicht aktualisiert, niemand wusste, wo das Paket war.
Ich musste es in einem Paketshop 5 km entfernt abholen, obwohl ich für Lieferung nach Hause bezahlt hatte.
""",
        "prob": """
Als ich den Karton öffnete, war die falsche Größe drin.
Leider fehlte ein Teil im Paket.
Die erste, die ich bekommen habe, war beim Transport beschädigt worden.
Mir wurde dieselbe Bestellung (#{k}) zweimal abgebucht.
Meine Bestellung stand als zugestellt, aber es kam nichts an.
""",
        "contact": """
Ich habe noch am selben Abend dem Kundenservice geschrieben.
Ich habe bei der Hotline angerufen und ca. {m} Minuten gewartet, bis jemand rangegangen ist.
Ich habe den Chat auf der Website genutzt und mit {name} gesprochen.
Ich habe wie gewünscht Fotos per E-Mail geschickt.
""",
        "fix": """
{name} war wirklich hilfsbereit und hat sofort Ersatz geschickt, ohne Diskussion.
Das Geld wurde innerhalb von {d} Tagen erstattet.
Zwei Tage später kam eine neue und diesmal war alles perfekt.
Sie haben sich entschuldigt und mir einen Gutschein über 15% für das nächste Mal gegeben, nette Geste.
Es hat ein paar E-Mails gebraucht, aber am Ende haben sie es gelöst.
""",
        "nofix": """
{d} Tage lang keine Antwort und dann eine Standardantwort, die überhaupt nicht geholfen hat.
Sie meinten, es sei die Schuld des Paketdienstes und sie könnten nichts machen.
Nach {w} Wochen warte ich immer noch auf mein Geld.
Ich sollte die Rücksendung für ihren Fehler selbst bezahlen.
Jedes Mal, wenn ich anrufe, habe ich eine andere Person mit einer anderen Geschichte dran.
""",
        "cmp+": """
Viel besser als die, die ich letztes Jahr im Laden für den doppelten Preis gekauft habe.
Im Vergleich zu anderen Onlineshops ist der Service hier eine ganz andere Liga.
Bessere Qualität als bei den großen Marken, ganz ehrlich.
""",
        "cmp-": """
Meine alte von IKEA war besser und billiger.
Andere Shops liefern in zwei Tagen, ich verstehe nicht, warum es hier so lange dauert.
Ich hatte schon bessere Erfahrungen mit billigeren Shops.
""",
        "use": """
Wir benutzen sie jetzt seit {w} Wochen.
Ich benutze sie hauptsächlich am Wochenende.
Es war ein Geschenk für meine Mutter, also habe ich sie auch gefragt.
Zur Info: Ich bin bei solchen Sachen ziemlich pingelig.
Egal, zurück zur {noun}.
Ich hatte gleichzeitig auch {other} bestellt.
""",
        "v1": """
Katastrophe. Nie wieder.
1 Stern, weil 0 nicht geht.
Sehr enttäuscht von Produkt und Service.
""",
        "v2": """
Nicht gut, nicht das, was ich erwartet hatte.
Insgesamt enttäuschend.
Für den Preis hatte ich mehr erwartet.
""",
        "v3": """
Gemischte Gefühle.
Ganz ok, aber es gibt Luft nach oben.
Durchschnitt. Erfüllt ihren Zweck.
""",
        "v4": """
Alles in allem bin ich zufrieden mit dem Kauf.
Gutes Produkt, nur ein paar Kleinigkeiten.
Empfehlenswert, mit einer kleinen Einschränkung.
""",
        "v5": """
Super zufrieden!
Absolut empfehlenswert!!
Alles perfekt, 5 Sterne.
""",
        "close+": """
Ich bestelle hier auf jeden Fall wieder.
Vielen Dank!
Weiter so.
""",
        "close~": """
Mal sehen, ob ich wieder bestelle.
Hoffe, das hilft jemandem.
""",
        "close-": """
Finger weg von diesem Shop.
Spart euch das Geld.
Ich habe meinen Freunden schon gesagt, dass sie hier nicht bestellen sollen.
""",
    },
    "fr": {
        "open": """
J'ai commandé {product} la semaine dernière.
J'ai acheté {product} comme cadeau d'anniversaire pour ma femme.
Première commande sur ce site.
J'ai déjà commandé ici plusieurs fois.
Client depuis longtemps, donc je vais essayer d'être juste.
Bon, par où commencer.
Alors, j'ai commandé {product} un dimanche soir.
J'ai acheté {product} après avoir lu plein d'avis.
""",
        "prod+": """
{Product} est exactement comme décrite sur le site.
La qualité est vraiment bonne pour le prix.
Très belle couleur, encore plus jolie en vrai.
Elle taille parfaitement, je prends d'habitude du M et c'était pile ça.
Très bien finie, rien ne fait bon marché.
{Product} est solide et les finitions sont superbes.
Le montage était facile, dix minutes peut-être.
Ma fille l'adore et s'en sert tous les jours.
Excellent rapport qualité-prix, honnêtement j'aurais payé plus.
Après {w} semaines d'utilisation quotidienne, elle est toujours comme neuve.
""",
        "prod-": """
{Product} ne ressemble pas du tout aux photos.
La matière est fine et fait bon marché.
Au bout de {d} jours, la fermeture éclair était cassée.
Elle sent les produits chimiques, même après une semaine à l'air libre.
Beaucoup trop petite, le guide des tailles est complètement faux.
Un côté était rayé et les vis ne correspondaient pas.
La couleur est beaucoup plus foncée que sur le site.
Elle a cessé de fonctionner au bout de {w} semaines.
Franchement, elle ne vaut même pas la moitié du prix.
Les coutures se défaisaient déjà quand je l'ai déballée.
""",
        "prod~": """
La qualité est correcte, rien d'exceptionnel mais pas mauvaise non plus.
Jolie, mais la notice était inutile.
Elle fait le travail, même si elle est un peu plus bruyante que prévu.
Le seul bémol, c'est qu'elle est assez lourde.
Beau design, mais elle serre un peu aux épaules.
""",
        "deliv+": """
Livraison rapide, {f} jours jusqu'à chez moi.
Arrivée dès le lendemain avec {courier}, bien emballée.
Le colis était soigneusement emballé, sans plastique, j'apprécie.
J'ai reçu le suivi tout de suite et le livreur était sympa.
Arrivée un jour plus tôt que prévu !
""",
        "deliv-": """
La livraison a pris {s} jours au lieu des 2-3 promis.
{courier} a laissé le colis sous la pluie devant ma porte.
Le carton était écrasé et à moitié ouvert à l'arrivée.
Le suivi n'a pas bougé pendant une semaine, personne ne savait où était le colis.
J'ai dû aller le chercher dans un point relais à 5 km alors que j'avais payé la livraison à domicile.
""",
        "prob": """
En ouvrant le carton, j'ai vu que ce n'était pas la bonne taille.
Malheureusement, il manquait une pièce dans le colis.
La première que j'ai reçue avait été abîmée pendant le transport.
J'ai été débité deux fois pour la même commande (n°{k}).
Ma commande était indiquée comme livrée mais je n'ai rien reçu.
""",
        "contact": """
J'ai écrit au service client le soir même.
J'ai appelé la hotline et attendu environ {m} minutes avant que quelqu'un réponde.
J'ai utilisé le chat du site et j'ai parlé avec {name}.
J'ai envoyé des photos par mail comme demandé.
""",
        "fix": """
{name} a été vraiment serviable et m'a renvoyé un remplacement tout de suite, sans discuter.
Ils m'ont remboursé sous {d} jours.
Une nouvelle est arrivée deux jours plus tard et cette fois tout était parfait.
Ils se sont excusés et m'ont donné un code de réduction de 15 % pour la prochaine fois, sympa.
Il a fallu quelques mails mais finalement ils ont réglé le problème.
""",
        "nofix": """
Aucune réponse pendant {d} jours, puis une réponse type qui ne m'a pas aidé du tout.
Ils m'ont dit que c'était la faute du transporteur et qu'ils ne pouvaient rien faire.
J'attends toujours mon remboursement après {w} semaines.
Ils m'ont demandé de payer moi-même le retour pour leur erreur.
À chaque appel, je tombe sur quelqu'un d'autre avec une autre version.
""",
        "cmp+": """
Bien mieux que celle que j'ai achetée en magasin l'an dernier pour le double du prix.
Comparé à d'autres sites, le service ici est d'un tout autre niveau.
Meilleure qualité que les grandes marques, honnêtement.
""",
        "cmp-": """
Mon ancienne de chez IKEA était mieux et moins chère.
D'autres boutiques livrent en deux jours, je ne comprends pas pourquoi c'est si long ici.
J'ai eu de meilleures expériences avec des boutiques moins chères.
""",
        "use": """
On l'utilise depuis {w} semaines maintenant.
Je m'en sers surtout le week-end.
C'était un cadeau pour ma mère, donc je lui ai aussi demandé son avis.
Pour info, je suis assez exigeant sur ce genre de choses.
Bref, revenons à {product}.
J'avais aussi commandé {other} en même temps.
""",
        "v1": """
Nul. Plus jamais.
1 étoile parce que 0 n'est pas possible.
Très déçu du produit comme du service.
""",
        "v2": """
Pas terrible, pas ce que j'attendais.
Décevant dans l'ensemble.
Pour ce prix, je m'attendais à mieux.
""",
        "v3": """
Avis mitigé.
C'est correct, mais il y a des progrès à faire.
Moyen. Fait le job.
""",
        "v4": """
Dans l'ensemble je suis content de mon achat.
Bon produit, juste quelques petits détails.
Je recommande, avec une petite réserve.
""",
        "v5": """
Ravi !
Je recommande vivement !!
Tout parfait, 5 étoiles.
""",
        "close+": """
Je recommanderai sans hésiter.
Merci beaucoup !
Continuez comme ça.
""",
        "close~": """
On verra si je recommande.
J'espère que ça aidera quelqu'un.
""",
        "close-": """
Fuyez cette boutique.
Gardez votre argent.
J'ai déjà dit à mes amis de ne pas commander ici.
""",
    },
}

# (definite form, bare noun) per language; one grammatical gender per language, see above. {f} and {s} are
# the days of a fast (2-3) and a slow (6-14) delivery.
_PRODUCTS: dict[str, list[tuple[str, str]]] = {
    "en": [
        (f"the {n}", n)
        for n in (
            "jacket",
            "lamp",
            "coffee machine",
            "bag",
            "dress",
            "mattress",
            "frying pan",
            "duvet",
            "suitcase",
            "office chair",
            "rain coat",
            "desk lamp",
        )
    ],
    "da": [
        (f"{n}{'n' if n.endswith('e') else 'en'}".replace("sen", "ssen"), n)
        for n in (
            "jakke",
            "lampe",
            "kaffemaskine",
            "taske",
            "kjole",
            "madras",
            "dyne",
            "kuffert",
            "kontorstol",
            "regnjakke",
            "skrivebordslampe",
            "stegepande",
        )
    ],
    "nl": [
        (f"de {n}", n)
        for n in (
            "jas",
            "lamp",
            "koffiemachine",
            "tas",
            "jurk",
            "koekenpan",
            "koffer",
            "bureaustoel",
            "regenjas",
            "bureaulamp",
            "broek",
            "deken",
        )
    ],
    "de": [
        (f"die {n}", n)
        for n in (
            "Jacke",
            "Lampe",
            "Kaffeemaschine",
            "Tasche",
            "Bluse",
            "Matratze",
            "Pfanne",
            "Decke",
            "Regenjacke",
            "Schreibtischlampe",
            "Hose",
            "Uhr",
        )
    ],
    "fr": [
        (f"la {n}", n)
        for n in (
            "veste",
            "lampe",
            "machine à café",
            "robe",
            "valise",
            "poêle",
            "couette",
            "chaise de bureau",
            "montre",
            "lampe de bureau",
            "housse de couette",
            "chemise",
        )
    ],
}
_COURIERS: dict[str, list[str]] = {
    "en": ["Royal Mail", "DPD", "Evri", "UPS", "DHL"],
    "da": ["PostNord", "GLS", "DAO", "Bring"],
    "nl": ["PostNL", "DHL", "DPD", "GLS"],
    "de": ["DHL", "Hermes", "DPD", "GLS"],
    "fr": ["Colissimo", "Chronopost", "Mondial Relay", "DPD"],
}
_AGENTS: dict[str, list[str]] = {
    "en": ["Sarah", "James", "Emma", "Tom", "Priya"],
    "da": ["Mette", "Lars", "Sofie", "Jonas", "Camilla"],
    "nl": ["Sanne", "Daan", "Lotte", "Joris", "Fatima"],
    "de": ["Julia", "Markus", "Anna", "Stefan", "Leonie"],
    "fr": ["Camille", "Julien", "Marie", "Nicolas", "Inès"],
}
# Connectors that can open a body sentence without changing its word order (coordinating conjunctions and
# detached discourse markers: da/nl/de are verb-second languages); the sentence's first letter is lowered.
_CONNECTORS: dict[str, list[str]] = {
    "en": ["Also, ", "To be honest, ", "And ", "Oh and ", "Btw ", "Plus, "],
    "da": ["Og ", "Og så: ", "Btw ", "Altså, ", "Nå ja, "],
    "nl": ["En ", "Overigens: ", "Oh ja, ", "Nou, ", "Btw "],
    "de": ["Und ", "Übrigens: ", "Ach ja, ", "Also, ", "Btw "],
    "fr": ["Et ", "Bref, ", "Honnêtement, ", "D'ailleurs, ", "En plus, ", "Sinon, "],
}
_KEEP_CASE = re.compile(r"^(\{|I\b|I'|[A-ZÆØÅÄÖÜ]{2})")  # slots, English "I", acronyms stay as they are
_EMOJI = {
    "+": ["😊", "👍", "❤️", "😍", "🙂", "⭐", "🙌"],
    "-": ["😡", "😞", "👎", "🙄", "😤", "💩"],
    "~": ["🤷", "😐", "🙂", "😕"],
}
_WORD = re.compile(r"[^\W\d_]{4,}")

_POOL_LINES: dict[str, dict[str, list[str]]] = {
    lang: {cat: _lines(block) for cat, block in cats.items()} for lang, cats in _POOLS.items()
}


class _Writer:
    """Composes one review: draws sentences per category without repeats until a category is used up."""

    def __init__(self, lang: str, stars: int, rng: np.random.Generator) -> None:
        self.lang, self.stars, self.rng = lang, stars, rng
        self.pools = _POOL_LINES[lang]
        self.queues: dict[str, list[str]] = {}
        self.pos = self.neg = 0  # balance of positive and negative remarks, kept even for 3 stars
        self.products = _PRODUCTS[lang]
        self.product = self.products[int(rng.integers(len(self.products)))]
        self.courier = _COURIERS[lang][int(rng.integers(len(_COURIERS[lang])))]
        self.agent = _AGENTS[lang][int(rng.integers(len(_AGENTS[lang])))]
        self.connect = rng.random() * 0.3  # this writer's habit of chaining sentences with "and", "also"...

    def _fill(self, template: str) -> str:
        rng = self.rng
        other = self.products[int(rng.integers(len(self.products)))]
        if other == self.product:
            other = self.products[(self.products.index(other) + 1) % len(self.products)]
        definite, noun = self.product
        return template.format(
            product=definite,
            Product=definite[:1].upper() + definite[1:],
            noun=noun,
            other=other[0],
            courier=self.courier,
            name=self.agent,
            d=int(rng.integers(2, 15)),
            f=int(rng.integers(2, 4)),
            s=int(rng.integers(6, 15)),
            w=int(rng.integers(2, 9)),
            m=int(rng.integers(5, 61)),
            k=int(rng.integers(100000, 1000000)),
        )

    def pick(self, cat: str, connector: bool = False) -> str:
        queue = self.queues.get(cat)
        if not queue:
            lines = self.pools[cat]
            queue = [lines[i] for i in self.rng.permutation(len(lines))]
            self.queues[cat] = queue
        template = queue.pop()
        text = self._fill(template)
        if connector and self.rng.random() < self.connect and not _KEEP_CASE.match(template):
            conns = _CONNECTORS[self.lang]
            text = conns[int(self.rng.integers(len(conns)))] + text[:1].lower() + text[1:]
        return text

    def polarity(self, mixed_ok: bool = True) -> str:
        """'+', '-' or '~' (mixed) for the next remark, consistent with the stars."""
        r, s = self.rng.random(), self.stars
        if s == 5:
            p = "+"
        elif s == 1:
            p = "-"
        elif s == 4:
            p = "+" if r < 0.82 else "~"
        elif s == 2:
            p = "-" if r < 0.75 else "~"
        elif self.pos > self.neg:
            p = "-"
        elif self.neg > self.pos:
            p = "+"
        else:
            p = "+" if r < 0.35 else "-" if r < 0.7 else "~"
        if p == "~" and not mixed_ok:  # pools without mixed sentences: lean with the stars
            p = "+" if s > 3 or (s == 3 and self.rng.random() < 0.5) else "-"
        self.pos += p == "+"
        self.neg += p == "-"
        return p

    def section(self, room: float, stories: int) -> list[str]:
        """The next body section (one to four sentences); multi-sentence stories only where room is left."""
        rng, s = self.rng, self.stars
        kinds = ["prod", "deliv", "cmp", "use", "story"]
        weights = [0.42, 0.16, 0.09, 0.13, 0.20 if s < 5 else 0.08]
        if room < 220 or stories >= 1 + room / 1500:
            weights[4] = 0.0
        if room < 120:
            weights[3] = 0.0
        w = np.asarray(weights) / sum(weights)
        kind = kinds[int(rng.choice(len(kinds), p=w))]
        if kind == "prod":
            return [self.pick("prod" + self.polarity(), connector=True)]
        if kind == "deliv":
            return [self.pick("deliv" + self.polarity(mixed_ok=False), connector=True)]
        if kind == "cmp":
            return [self.pick("cmp" + self.polarity(mixed_ok=False), connector=True)]
        if kind == "use":
            if rng.random() < 0.25:  # the rambler moves on to another product
                self.product = self.products[int(rng.integers(len(self.products)))]
            return [self.pick("use", connector=True)]
        story = [self.pick("prob"), self.pick("contact")]
        if room > 600 and rng.random() < 0.4:
            story.append(self.pick("contact"))
        outcome = "fix" if s >= 3 else "nofix"
        story.append(self.pick(outcome))
        if room > 500 and rng.random() < 0.4:
            story.append(self.pick(outcome))
        return story


def _compose(lang: str, stars: int, target: float, rng: np.random.Generator) -> str:
    """Whole sentences until ``target`` characters; texts over ~450 characters become paragraphs."""
    w = _Writer(lang, stars, rng)
    long = target > 450
    tone = "+" if stars >= 4 else "-" if stars <= 2 else "~"
    verdict = w.pick(f"v{stars}")
    closing = w.pick(f"close{tone}") if rng.random() < (0.5 if long else 0.2) else ""
    tail = len(verdict) + (len(closing) + 1 if closing else 0)
    paras: list[list[str]] = [[]]
    length = 0
    if rng.random() < (0.8 if long else 0.3):
        paras[-1].append(w.pick("open"))
        length += len(paras[-1][-1]) + 1
    stories = 0
    while not any(paras) or length + tail < target:
        section = w.section(target - length - tail, stories)
        stories += len(section) > 1
        if long and len(paras[-1]) >= 2 and rng.random() < 0.4:
            paras.append([])
            length += 1
        paras[-1].extend(section)
        length += sum(len(x) + 1 for x in section)
    if long and rng.random() < 0.6:
        paras.append([])
    paras[-1].extend([verdict, closing] if closing else [verdict])
    return _decorate([" ".join(p) for p in paras if p], tone, rng)


def _decorate(paras: list[str], tone: str, rng: np.random.Generator) -> str:
    """A writer's habits: emoji, exclamation marks, typos, missing capitals, blank lines or not."""
    emoji = _EMOJI[tone]
    if rng.random() < 0.3:  # emoji user: after some sentence ends
        rate = 0.15 + 0.35 * rng.random()

        def add_emoji(m: re.Match[str]) -> str:
            if rng.random() >= rate:
                return m.group(0)
            e = emoji[int(rng.integers(len(emoji)))]
            return f"{m.group(1)} {e * int(rng.integers(1, 3))}{m.group(2)}"

        paras = [re.sub(r"([.!])( (?=[^\W\d_])(?![a-zß-ÿ])|$)", add_emoji, p) for p in paras]
    if rng.random() < 0.12:
        paras = [p.replace("!", "!" * int(rng.integers(2, 4))) for p in paras]
    if rng.random() < 0.1:
        paras = [p.lower() for p in paras]
    text = ("\n\n" if rng.random() < 0.7 else "\n").join(paras)
    if rng.random() < 0.4:  # sloppy typist: about one typo per 400 characters, never in a word's first letter
        words = list(_WORD.finditer(text))
        k = min(len(words), int(rng.poisson(1 + len(text) / 400)))
        chosen = sorted(
            (words[int(i)] for i in rng.choice(len(words), size=k, replace=False)), key=lambda m: -m.start()
        )
        for m in chosen:
            word, i = m.group(0), int(rng.integers(1, len(m.group(0)) - 1))
            op = rng.random()
            if op < 0.4:
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swapped letters
            elif op < 0.7:
                word = word[:i] + word[i + 1 :]  # dropped letter
            else:
                word = word[:i] + word[i] + word[i:]  # doubled letter
            text = text[: m.start()] + word + text[m.end() :]
    return text


def reviews(n: int, seed: int = 0, languages: Sequence[str] = LANGUAGES) -> list[Review]:
    """``n`` reviews, languages in turn, stars drawn from a J-shaped distribution; deterministic for a seed."""
    unknown = [x for x in languages if x not in _POOL_LINES]
    if unknown or not languages:
        raise ValueError(f"languages must be among {LANGUAGES}, got {list(languages)}")
    rng = np.random.default_rng(seed)
    # stratified lognormal: per language, one target from each of its equal-probability strata, in random order
    u = np.empty(n)
    for j in range(len(languages)):
        m = len(range(j, n, len(languages)))
        u[j :: len(languages)] = (rng.permutation(m) + rng.random(m)) / m
    nd = NormalDist(LOG_MEDIAN, LOG_SIGMA)
    targets = [min(float(np.exp(nd.inv_cdf(min(max(x, 1e-12), 1 - 1e-12)))), MAX_TARGET) for x in u]
    stars = rng.choice(5, size=n, p=STAR_SHARES) + 1
    out = []
    for i in range(n):
        lang = languages[i % len(languages)]
        out.append(Review(lang, int(stars[i]), _compose(lang, int(stars[i]), targets[i], rng)))
    return out


def _stats(lengths: Sequence[int]) -> str:
    a = np.asarray(lengths)
    return (
        f"n={len(a):5d}  median={np.median(a):7.0f}  mean={a.mean():7.0f}  p95={np.percentile(a, 95):7.0f}  "
        f"max={a.max():6d}  min={a.min():4d}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--languages", default=",".join(LANGUAGES), help="comma-separated, e.g. da,en")
    ap.add_argument("--out", type=Path, help="CSV file to write (columns language,stars,text)")
    args = ap.parse_args()
    rows = reviews(args.n, args.seed, tuple(args.languages.split(",")))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["language", "stars", "text"])
            w.writerows((r.language, r.stars, r.text) for r in rows)
        print(f"wrote {len(rows)} reviews to {args.out}")
    if not rows:
        return
    lengths = [len(r.text) for r in rows]
    print(f"all    {_stats(lengths)}")
    for lang in dict.fromkeys(r.language for r in rows):
        print(f"{lang:6} {_stats([len(r.text) for r in rows if r.language == lang])}")
    a = np.asarray(lengths)
    distinct = len({r.text for r in rows}) / len(rows)
    stars = np.bincount([r.stars for r in rows], minlength=6)[1:]
    paragraphs = np.mean(["\n" in r.text for r in rows])
    print(f"stars 1-5: {stars.tolist()}  distinct texts: {distinct:.1%}  multi-paragraph: {paragraphs:.1%}")
    checks = {
        "median 230-270": 230 <= np.median(a) <= 270,
        "mean 380-450": 380 <= a.mean() <= 450,
        "p95 1000-1400": 1000 <= np.percentile(a, 95) <= 1400,
        "max <= 7500": a.max() <= 7500,
        "distinct >= 97%": distinct >= 0.97,
    }
    print("self-check: " + "  ".join(f"{k}: {'ok' if v else 'FAIL'}" for k, v in checks.items()))
    if len(rows) >= 200 and not all(checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
