"""Multilingual feedback texts composed from fragments: openers, aspect sentences, contrasts and closers.

Each language has, per aspect and polarity, several sentences (some with an ``{item}`` slot for the product
bought, or ``{days}`` for how long the parcel took), so that a few thousand reviews yield thousands of
distinct texts. Idioms and negations ("niet slecht", "intet at udsætte", "not bad at all", "nichts zu
meckern") are in on purpose: they are what makes sentiment analysis hard.
"""

from __future__ import annotations

from collections.abc import Sequence

ASPECTS = ("delivery", "packaging", "product", "site", "checkout", "service", "returns")
ASPECT_TOUCHPOINT = ("delivery", "unboxing", "product", "site", "checkout", "customer_service", "returns")
TICKET_REASONS = ("late_delivery", "damaged", "sizing", "product_question", "return_question")
TICKET_TOUCHPOINT = ("delivery", "unboxing", "product", "product", "returns")

Fragments = dict[str, tuple[str, ...]]

_E = ("",)

EN: Fragments = {
    "but": ("But",),
    "open_pos": ("Great shop!", "Really happy with my order.", "Very satisfied.", "Top service, as always.",
                 "Second time ordering here and again happy.", "What a pleasant experience.", "Love it!",
                 "Not bad at all.", "Absolutely delighted.", "Couldn't be happier.", "Five stars from me.",
                 "Smooth from start to finish.", *_E * 4),
    "open_neg": ("Very disappointed.", "Not happy at all.", "What a letdown.",
                 "Honestly, this was a bad experience.", "I expected much better.", "Never again, I'm afraid.",
                 "Really frustrating.", "Not impressed.", "This was not okay.", "Poor experience this time.",
                 *_E * 3),
    "open_mix": ("Mixed feelings about this one.", "Partly good, partly not.", "Okay-ish.",
                 "Not bad, not great.", *_E * 2),
    "close_pos": ("Will definitely order again.", "Highly recommended!", "Keep it up!", "I'll be back.",
                  "Thanks a lot!", "Recommended to all my friends.", "Nothing to complain about.",
                  "Ten out of ten.", "Very pleased overall.", "No complaints here.", *_E * 4),
    "close_neg": ("I won't be ordering again.", "Please sort this out.", "Not recommended.", "Really a shame.",
                  "I expected better from you.", "Very annoying.", "I hope you improve this.",
                  "Two thumbs down.", *_E * 3),
    "close_mix": ("Room for improvement.", "Might order again, we'll see.", "So-so overall.", *_E * 2),
    "delivery_pos": ("The parcel arrived the very next day.", "Delivery was super fast.",
                     "Delivered right on time.", "Shipping was quick and the tracking worked perfectly.",
                     "The courier was friendly and on time.", "Fast delivery, exactly as promised.",
                     "My order arrived earlier than expected.", "No issues at all with the delivery."),
    "delivery_neg": ("The parcel took {days} days to arrive.", "Delivery was much slower than promised.",
                     "My order arrived days late.", "The delivery was late and nobody told me why.",
                     "I waited {days} days for my package.", "Tracking said 'out for delivery' for days.",
                     "The courier missed the promised date.", "Shipping took forever.",
                     "The parcel was stuck at the depot for days.", "The delivery date kept being pushed back.",
                     "The delivery was not on time, again."),
    "packaging_pos": ("Nicely packed.", "The packaging was sturdy and neat.", "Everything was well wrapped.",
                      "Lovely packaging, felt like a gift.", "Packed with care."),
    "packaging_neg": ("The box arrived crushed.", "The parcel was damaged when it arrived.",
                      "The packaging was torn open.", "{item} was damaged because of poor packaging.",
                      "The box was dented and soaked.",
                      "Everything was thrown loose into a box that was far too big.",
                      "The package arrived broken.", "The wrapping was ripped and {item} was scratched."),
    "product_pos": ("{item} is of excellent quality.", "{item} looks even better than in the pictures.",
                    "{item} is exactly as described.", "Really happy with {item}.",
                    "{item} is great value for money.", "The quality of {item} is superb.",
                    "{item} is not bad at all for this price.", "{item} feels really premium.",
                    "I love {item}.", "{item} turned out to be a perfect gift."),
    "product_neg": ("{item} is not as described.", "The quality of {item} is disappointing.",
                    "{item} broke after a week.", "{item} looks cheap in real life.",
                    "The colour of {item} is completely different from the photos.",
                    "I am not happy with {item}.", "{item} is not worth the money.",
                    "{item} fell apart after a few uses."),
    "site_pos": ("The website is easy to use.", "Finding what I wanted on the site was easy.",
                 "The website works really smoothly.",
                 "Great product photos and clear descriptions on the site.", "The site is clear and fast.",
                 "The search on the website works well."),
    "site_neg": ("The website is slow and confusing.", "I couldn't find the size chart anywhere on the site.",
                 "The site kept crashing on my phone.", "The search on the website is useless.",
                 "The website is a mess to navigate.", "Product pages load very slowly."),
    "checkout_pos": ("Checkout was quick and simple.", "Paying was easy.", "The checkout only took a minute.",
                     "Smooth payment with my favourite method.", "Ordering was a breeze.",
                     "Checking out was effortless."),
    "checkout_neg": ("The checkout was a pain.", "Payment failed twice before it worked.",
                     "The checkout process is far too long.",
                     "I had to enter my address three times at checkout.", "Paying was needlessly complicated.",
                     "The discount code did not work at checkout."),
    "service_pos": ("Customer service was very helpful.", "The support team solved my problem quickly.",
                    "Customer service replied within an hour.", "Friendly and helpful support.",
                    "The agent was kind and sorted everything out.", "Great customer service."),
    "service_neg": ("Customer service never replied.", "Support was unhelpful.",
                    "I had to contact customer service three times.",
                    "Customer service kept sending standard replies.",
                    "Nobody at customer service could help me.", "Terrible customer service."),
    "returns_pos": ("Returning was easy and free.", "My refund came through quickly.",
                    "The return was handled without any hassle.", "Sending it back was simple.",
                    "The refund arrived within a few days."),
    "returns_neg": ("The return process is a hassle.", "I am still waiting for my refund.",
                    "Returning costs far too much.", "My return got lost.",
                    "It took weeks to get my money back."),
    "ticket_open": ("Hi,", "Hello,", "Good morning,", "Dear customer service,", ""),
    "ticket_close": ("Thanks.", "Thanks in advance.", "Kind regards.", "Please get back to me soon.", ""),
    "late_delivery": ("Where is my order? It should have arrived already.",
                      "My parcel is late. Can you tell me when it will be delivered?",
                      "The tracking hasn't changed for days. What is going on with my order?",
                      "I still haven't received anything, even though delivery was promised.",
                      "My order still hasn't arrived."),
    "damaged": ("My order arrived damaged. What can you do?", "The box was crushed and {item} is broken.",
                "{item} arrived damaged, I would like a replacement.",
                "The parcel was damaged in transit. Please help.",
                "I received {item} broken. I want a refund."),
    "sizing": ("{item} doesn't fit. Can I exchange it for another size?",
               "The size of {item} is off, what do you recommend?", "I need a different size of {item}.",
               "Your size chart seems wrong, {item} is way too small."),
    "product_question": ("How do I take care of {item}?", "Is {item} available in another colour?",
                         "Can you tell me more about the material of {item}?",
                         "When will {item} be back in stock?"),
    "return_question": ("How do I return {item}?", "Can I still return my order?",
                        "Where do I find the return label?", "How long does a refund take?"),
}

NL: Fragments = {
    "but": ("Maar",),
    "open_pos": ("Super tevreden!", "Wat een fijne webshop.", "Echt heel blij met mijn bestelling.",
                 "Top service, zoals altijd.", "Alweer een fijne ervaring.", "Dik tevreden.",
                 "Niet slecht, helemaal niet slecht.", "Helemaal top!", "Prima geregeld.",
                 "Ik ben erg tevreden.", "Een aanrader!", "Wat een service.", *_E * 4),
    "open_neg": ("Erg teleurgesteld.", "Helemaal niet tevreden.", "Wat een afknapper.",
                 "Eerlijk gezegd een slechte ervaring.", "Ik had veel meer verwacht.", "Nooit meer, vrees ik.",
                 "Echt frustrerend.", "Niet goed.", "Dit kan echt niet.", "Deze keer een slechte ervaring.",
                 *_E * 3),
    "open_mix": ("Gemengde gevoelens.", "Deels goed, deels niet.", "Redelijk.",
                 "Niet slecht, niet geweldig.", *_E * 2),
    "close_pos": ("Ik bestel zeker weer.", "Echt een aanrader!", "Ga zo door!", "Ik kom zeker terug.",
                  "Heel erg bedankt!", "Ik raad het iedereen aan.", "Niets op aan te merken.",
                  "Tien met een griffel.", "Kan niet klagen.", "Nergens over te klagen.", *_E * 4),
    "close_neg": ("Ik bestel hier niet meer.", "Los dit alsjeblieft op.", "Geen aanrader.", "Echt jammer.",
                  "Ik had beter van jullie verwacht.", "Heel vervelend.", "Hopelijk wordt dit beter.",
                  "Nooit meer dus.", *_E * 3),
    "close_mix": ("Voor verbetering vatbaar.", "Misschien bestel ik nog eens, we zullen zien.",
                  "Al met al matig.", *_E * 2),
    "delivery_pos": ("Het pakket was de volgende dag al binnen.", "Razendsnelle levering.",
                     "Netjes op tijd geleverd.",
                     "De verzending ging snel en de track & trace werkte perfect.",
                     "De bezorger was vriendelijk en op tijd.", "Snel geleverd, precies zoals beloofd.",
                     "Mijn bestelling kwam zelfs eerder dan verwacht.", "Met de bezorging was niets mis."),
    "delivery_neg": ("Het pakket deed er {days} dagen over.", "De levering duurde veel langer dan beloofd.",
                     "Mijn bestelling kwam dagen te laat.",
                     "De levering was te laat en niemand liet iets weten.",
                     "Ik heb {days} dagen op mijn pakket gewacht.",
                     "Volgens de track & trace was het dagenlang 'onderweg'.",
                     "De bezorger haalde de beloofde datum niet.", "De verzending duurde een eeuwigheid.",
                     "Het pakket lag dagen stil in het depot.", "De bezorgdatum werd steeds weer verschoven.",
                     "De bezorging was weer niet op tijd."),
    "packaging_pos": ("Netjes verpakt.", "De verpakking was stevig en verzorgd.", "Alles was goed ingepakt.",
                      "Mooie verpakking, voelde als een cadeautje.", "Met zorg ingepakt."),
    "packaging_neg": ("De doos kwam helemaal ingedeukt aan.", "Het pakket was beschadigd bij aankomst.",
                      "De verpakking was opengescheurd.", "{item} was beschadigd door de slechte verpakking.",
                      "De doos was gedeukt en doorweekt.", "Alles lag los in een veel te grote doos.",
                      "Het pakket kwam kapot aan.", "De verpakking was gescheurd en {item} had krassen."),
    "product_pos": ("{item} is van uitstekende kwaliteit.", "{item} is in het echt nog mooier dan op de foto's.",
                    "{item} is precies zoals beschreven.", "Erg blij met {item}.",
                    "{item} is echt zijn geld waard.", "De kwaliteit van {item} is super.",
                    "Voor deze prijs is {item} helemaal niet slecht.", "{item} voelt echt luxe aan.",
                    "Ik ben dol op {item}.", "{item} was een perfect cadeau."),
    "product_neg": ("{item} is niet zoals beschreven.", "De kwaliteit van {item} valt tegen.",
                    "{item} was na een week al kapot.", "{item} ziet er in het echt goedkoop uit.",
                    "De kleur van {item} is heel anders dan op de foto's.", "Ik ben niet blij met {item}.",
                    "{item} is het geld niet waard.", "{item} viel na een paar keer gebruiken uit elkaar."),
    "site_pos": ("De website is makkelijk in gebruik.", "Ik vond snel wat ik zocht op de site.",
                 "De website werkt heel soepel.", "Mooie productfoto's en duidelijke beschrijvingen op de site.",
                 "De site is overzichtelijk en snel.", "Het zoeken op de website werkt goed."),
    "site_neg": ("De website is traag en onduidelijk.", "Ik kon de maattabel nergens vinden op de site.",
                 "De site liep steeds vast op mijn telefoon.", "Het zoeken op de website werkt voor geen meter.",
                 "De website is een doolhof.", "Productpagina's laden heel traag."),
    "checkout_pos": ("Afrekenen ging snel en makkelijk.", "Betalen was eenvoudig.",
                     "Het afrekenen duurde maar een minuutje.", "Soepel betaald met iDEAL.",
                     "Bestellen was een fluitje van een cent.", "Het afrekenen ging vlekkeloos."),
    "checkout_neg": ("Het afrekenen was een drama.", "De betaling mislukte twee keer.",
                     "Het bestelproces is veel te lang.",
                     "Ik moest mijn adres drie keer invullen bij het afrekenen.",
                     "Betalen was onnodig ingewikkeld.", "De kortingscode werkte niet bij het afrekenen."),
    "service_pos": ("De klantenservice was erg behulpzaam.", "De klantenservice loste mijn probleem snel op.",
                    "Binnen een uur antwoord van de klantenservice.",
                    "Vriendelijke en behulpzame klantenservice.",
                    "De medewerker was aardig en regelde alles.", "Top klantenservice."),
    "service_neg": ("De klantenservice reageerde nooit.", "De klantenservice hielp me niet verder.",
                    "Ik moest de klantenservice drie keer contacteren.",
                    "De klantenservice stuurde alleen standaardantwoorden.",
                    "Niemand bij de klantenservice kon me helpen.", "Waardeloze klantenservice."),
    "returns_pos": ("Retourneren was makkelijk en gratis.", "Mijn geld stond snel terug op mijn rekening.",
                    "Het retour werd zonder gedoe afgehandeld.", "Terugsturen was simpel.",
                    "Binnen een paar dagen had ik mijn geld terug."),
    "returns_neg": ("Retourneren is een gedoe.", "Ik wacht nog steeds op mijn terugbetaling.",
                    "Retourneren kost veel te veel.", "Mijn retourzending is kwijtgeraakt.",
                    "Het duurde weken voordat ik mijn geld terug had."),
    "ticket_open": ("Hoi,", "Hallo,", "Goedemorgen,", "Beste klantenservice,", ""),
    "ticket_close": ("Bedankt.", "Alvast bedankt.", "Met vriendelijke groet.", "Graag snel een reactie.", ""),
    "late_delivery": ("Waar blijft mijn bestelling? Die had er al moeten zijn.",
                      "Mijn pakket is te laat. Wanneer wordt het bezorgd?",
                      "De track & trace staat al dagen stil. Wat is er aan de hand met mijn bestelling?",
                      "Ik heb nog steeds niets ontvangen, terwijl de levering beloofd was.",
                      "Mijn bestelling is nog steeds niet binnen."),
    "damaged": ("Mijn bestelling kwam beschadigd aan. Wat kunnen jullie doen?",
                "De doos was ingedeukt en {item} is kapot.",
                "{item} kwam beschadigd aan, ik wil graag een vervanging.",
                "Het pakket is onderweg beschadigd. Graag hulp.",
                "Ik heb {item} kapot ontvangen. Ik wil mijn geld terug."),
    "sizing": ("{item} past niet. Kan ik een andere maat krijgen?",
               "De maat van {item} klopt niet, wat raden jullie aan?", "Ik heb een andere maat van {item} nodig.",
               "Jullie maattabel lijkt niet te kloppen, {item} is veel te klein."),
    "product_question": ("Hoe moet ik {item} onderhouden?", "Is {item} ook in een andere kleur verkrijgbaar?",
                         "Kunnen jullie meer vertellen over het materiaal van {item}?",
                         "Wanneer is {item} weer op voorraad?"),
    "return_question": ("Hoe kan ik {item} retourneren?", "Kan ik mijn bestelling nog retourneren?",
                        "Waar vind ik het retourlabel?", "Hoe lang duurt een terugbetaling?"),
}

DA: Fragments = {
    "but": ("Men",),
    "open_pos": ("Super god oplevelse!", "Rigtig glad for min ordre.", "Meget tilfreds.",
                 "Topservice som altid.", "Anden gang jeg handler her, og igen tilfreds.",
                 "Sikke en dejlig oplevelse.", "Elsker det!", "Slet ikke dårligt.", "Kan varmt anbefales.",
                 "Kunne ikke være gladere.", "Fem stjerner herfra.", "Alt gik som smurt.", *_E * 4),
    "open_neg": ("Meget skuffet.", "Slet ikke tilfreds.", "Sikke en skuffelse.",
                 "Ærligt talt en dårlig oplevelse.", "Jeg havde forventet meget mere.", "Aldrig igen, desværre.",
                 "Virkelig frustrerende.", "Ikke imponeret.", "Det her er ikke i orden.",
                 "En dårlig oplevelse denne gang.", *_E * 3),
    "open_mix": ("Blandede følelser.", "Delvist godt, delvist ikke.", "Nogenlunde.",
                 "Ikke dårligt, ikke fantastisk.", *_E * 2),
    "close_pos": ("Jeg handler her igen.", "Kan varmt anbefales!", "Bliv ved med det!",
                  "Jeg kommer helt sikkert igen.", "Tusind tak!", "Jeg anbefaler jer til alle mine venner.",
                  "Intet at udsætte.", "Ti ud af ti.", "Kan ikke klage.", "Intet at klage over.", *_E * 4),
    "close_neg": ("Jeg handler ikke her igen.", "Få det nu løst.", "Kan ikke anbefales.", "Virkelig ærgerligt.",
                  "Jeg havde forventet mere af jer.", "Meget irriterende.", "Håber I bliver bedre til det.",
                  "Aldrig igen.", *_E * 3),
    "close_mix": ("Plads til forbedring.", "Måske handler jeg her igen, vi får se.", "Alt i alt middel.",
                  *_E * 2),
    "delivery_pos": ("Pakken kom allerede dagen efter.", "Lynhurtig levering.", "Leveret præcis til tiden.",
                     "Forsendelsen gik hurtigt, og sporingen virkede perfekt.",
                     "Buddet var venligt og kom til tiden.", "Hurtig levering, præcis som lovet.",
                     "Min ordre kom endda før forventet.", "Intet at udsætte på leveringen."),
    "delivery_neg": ("Pakken var {days} dage undervejs.", "Leveringen tog meget længere tid end lovet.",
                     "Min ordre kom flere dage for sent.", "Leveringen var forsinket, og ingen sagde hvorfor.",
                     "Jeg ventede {days} dage på min pakke.",
                     "Sporingen stod på 'under levering' i flere dage.",
                     "Fragtfirmaet overholdt ikke den lovede dato.", "Forsendelsen tog en evighed.",
                     "Pakken stod stille på terminalen i dagevis.",
                     "Leveringsdatoen blev ved med at blive rykket.", "Leveringen var igen ikke til tiden."),
    "packaging_pos": ("Pænt pakket ind.", "Emballagen var solid og ordentlig.", "Alt var godt pakket.",
                      "Flot indpakning, føltes som en gave.", "Pakket med omhu."),
    "packaging_neg": ("Kassen var helt mast, da den kom.", "Pakken var beskadiget ved levering.",
                      "Emballagen var revet op.", "{item} var beskadiget på grund af dårlig emballage.",
                      "Kassen var bulet og gennemblødt.", "Alt lå løst i en alt for stor kasse.",
                      "Pakken kom i stykker.", "Indpakningen var revet i stykker, og {item} havde ridser."),
    "product_pos": ("Kvaliteten af {item} er helt i top.", "{item} er endnu pænere end på billederne.",
                    "{item} svarer præcis til beskrivelsen.", "Rigtig glad for {item}.",
                    "{item} er pengene værd.", "Kvaliteten af {item} er fantastisk.",
                    "Slet ikke dårligt til prisen.", "Man kan virkelig mærke kvaliteten af {item}.",
                    "Jeg er vild med {item}.", "{item} var en perfekt gave."),
    "product_neg": ("{item} svarer ikke til beskrivelsen.", "Kvaliteten af {item} er skuffende.",
                    "{item} gik i stykker efter en uge.", "{item} virker billigt lavet.",
                    "Farven på {item} er en helt anden end på billederne.", "Jeg er ikke tilfreds med {item}.",
                    "{item} er ikke pengene værd.", "{item} gik fra hinanden efter få gange."),
    "site_pos": ("Hjemmesiden er nem at bruge.", "Det var nemt at finde det, jeg ledte efter.",
                 "Hjemmesiden kører rigtig glat.", "Flotte produktbilleder og klare beskrivelser på siden.",
                 "Siden er overskuelig og hurtig.", "Søgningen på hjemmesiden virker godt."),
    "site_neg": ("Hjemmesiden er langsom og forvirrende.", "Jeg kunne ikke finde størrelsesguiden nogen steder.",
                 "Siden gik hele tiden ned på min telefon.", "Søgningen på hjemmesiden er ubrugelig.",
                 "Hjemmesiden er svær at finde rundt i.", "Produktsiderne indlæses meget langsomt."),
    "checkout_pos": ("Betalingen gik hurtigt og nemt.", "Det var nemt at betale.", "Checkout tog kun et minut.",
                     "Nem betaling med MobilePay.", "Det var en leg at bestille.", "Betalingen gik helt glat."),
    "checkout_neg": ("Checkout var et mareridt.", "Betalingen fejlede to gange.",
                     "Bestillingsprocessen er alt for lang.", "Jeg skulle indtaste min adresse tre gange.",
                     "Det var unødvendigt besværligt at betale.", "Rabatkoden virkede ikke ved betalingen."),
    "service_pos": ("Kundeservice var meget hjælpsom.", "Kundeservice løste mit problem hurtigt.",
                    "Svar fra kundeservice inden for en time.", "Venlig og hjælpsom kundeservice.",
                    "Medarbejderen var sød og fik styr på det hele.", "Fremragende kundeservice."),
    "service_neg": ("Kundeservice svarede aldrig.", "Kundeservice kunne ikke hjælpe.",
                    "Jeg måtte kontakte kundeservice tre gange.", "Kundeservice sendte kun standardsvar.",
                    "Ingen hos kundeservice kunne hjælpe mig.", "Elendig kundeservice."),
    "returns_pos": ("Det var nemt og gratis at returnere.", "Jeg fik hurtigt pengene tilbage.",
                    "Returneringen blev klaret uden besvær.", "Det var enkelt at sende varen retur.",
                    "Pengene var tilbage inden for få dage."),
    "returns_neg": ("Det er besværligt at returnere.", "Jeg venter stadig på min refundering.",
                    "Det koster alt for meget at returnere.", "Min returpakke er forsvundet.",
                    "Der gik flere uger, før jeg fik pengene tilbage."),
    "ticket_open": ("Hej,", "Hej med jer,", "Godmorgen,", "Kære kundeservice,", ""),
    "ticket_close": ("Tak.", "På forhånd tak.", "Venlig hilsen.", "Håber på hurtigt svar.", ""),
    "late_delivery": ("Hvor er min ordre? Den burde være kommet.",
                      "Min pakke er forsinket. Hvornår bliver den leveret?",
                      "Sporingen har ikke ændret sig i flere dage. Hvad sker der med min ordre?",
                      "Jeg har stadig ikke modtaget noget, selvom leveringen var lovet.",
                      "Min ordre er stadig ikke kommet."),
    "damaged": ("Min ordre kom beskadiget. Hvad kan I gøre?", "Kassen var mast, og {item} er i stykker.",
                "{item} kom beskadiget, jeg vil gerne have en ny.",
                "Pakken blev beskadiget under transporten. Hjælp venligst.",
                "Jeg har modtaget {item} i stykker. Jeg vil have pengene tilbage."),
    "sizing": ("{item} passer ikke. Kan jeg bytte til en anden størrelse?",
               "Størrelsen på {item} passer ikke, hvad anbefaler I?",
               "Jeg har brug for en anden størrelse af {item}.",
               "Jeres størrelsesguide passer vist ikke, {item} er alt for lille."),
    "product_question": ("Hvordan skal jeg vedligeholde {item}?", "Findes {item} i en anden farve?",
                         "Kan I fortælle mere om materialet i {item}?", "Hvornår er {item} på lager igen?"),
    "return_question": ("Hvordan returnerer jeg {item}?", "Kan jeg stadig returnere min ordre?",
                        "Hvor finder jeg returlabelen?", "Hvor lang tid tager en refundering?"),
}

DE: Fragments = {
    "but": ("Aber",),
    "open_pos": ("Toller Shop!", "Sehr zufrieden mit meiner Bestellung.", "Rundum zufrieden.",
                 "Top Service, wie immer.", "Schon die zweite Bestellung und wieder zufrieden.",
                 "Was für ein angenehmes Einkaufserlebnis.", "Einfach klasse!", "Gar nicht schlecht.",
                 "Absolut begeistert.", "Besser geht's nicht.", "Fünf Sterne von mir.",
                 "Alles hat super geklappt.", *_E * 4),
    "open_neg": ("Sehr enttäuscht.", "Überhaupt nicht zufrieden.", "Was für eine Enttäuschung.",
                 "Ehrlich gesagt eine schlechte Erfahrung.", "Ich hatte viel mehr erwartet.", "Nie wieder, leider.",
                 "Wirklich frustrierend.", "Nicht überzeugt.", "Das geht so nicht.",
                 "Diesmal eine schlechte Erfahrung.", *_E * 3),
    "open_mix": ("Gemischte Gefühle.", "Teils gut, teils nicht.", "Ganz okay.",
                 "Nicht schlecht, aber auch nicht toll.", *_E * 2),
    "close_pos": ("Ich bestelle auf jeden Fall wieder.", "Sehr empfehlenswert!", "Weiter so!", "Ich komme wieder.",
                  "Vielen Dank!", "Ich empfehle euch allen meinen Freunden.", "Nichts zu meckern.",
                  "Zehn von zehn.", "Kann mich nicht beklagen.", "Gibt nichts zu bemängeln.", *_E * 4),
    "close_neg": ("Ich bestelle hier nicht mehr.", "Bitte kümmert euch darum.", "Nicht empfehlenswert.",
                  "Wirklich schade.", "Ich hatte mehr von euch erwartet.", "Sehr ärgerlich.",
                  "Ich hoffe, das wird besser.", "Nie wieder.", *_E * 3),
    "close_mix": ("Da ist noch Luft nach oben.", "Vielleicht bestelle ich wieder, mal sehen.",
                  "Alles in allem mittelmäßig.", *_E * 2),
    "delivery_pos": ("Das Paket war schon am nächsten Tag da.", "Blitzschnelle Lieferung.", "Pünktlich geliefert.",
                     "Der Versand ging schnell und die Sendungsverfolgung hat perfekt funktioniert.",
                     "Der Bote war freundlich und pünktlich.", "Schnelle Lieferung, genau wie versprochen.",
                     "Meine Bestellung kam sogar früher als erwartet.",
                     "An der Lieferung gab es nichts auszusetzen."),
    "delivery_neg": ("Das Paket war {days} Tage unterwegs.",
                     "Die Lieferung hat viel länger gedauert als versprochen.",
                     "Meine Bestellung kam Tage zu spät.",
                     "Die Lieferung war verspätet und niemand hat Bescheid gegeben.",
                     "Ich habe {days} Tage auf mein Paket gewartet.",
                     "Laut Sendungsverfolgung war es tagelang 'in Zustellung'.",
                     "Der Paketdienst hat den versprochenen Termin nicht eingehalten.",
                     "Der Versand hat ewig gedauert.", "Das Paket lag tagelang im Depot.",
                     "Der Liefertermin wurde immer wieder verschoben.", "Die Lieferung war wieder nicht pünktlich."),
    "packaging_pos": ("Schön verpackt.", "Die Verpackung war stabil und ordentlich.", "Alles war gut verpackt.",
                      "Hübsche Verpackung, wie ein Geschenk.", "Mit Liebe verpackt."),
    "packaging_neg": ("Der Karton kam völlig zerdrückt an.", "Das Paket war bei der Ankunft beschädigt.",
                      "Die Verpackung war aufgerissen.", "{item} war wegen der schlechten Verpackung beschädigt.",
                      "Der Karton war eingedellt und durchnässt.",
                      "Alles lag lose in einem viel zu großen Karton.", "Das Paket kam kaputt an.",
                      "Die Verpackung war zerrissen und {item} hatte Kratzer."),
    "product_pos": ("{item} ist von ausgezeichneter Qualität.",
                    "{item} sieht in echt noch schöner aus als auf den Fotos.", "{item} ist genau wie beschrieben.",
                    "{item} gefällt mir richtig gut.", "{item} ist jeden Cent wert.", "Die Qualität ist super.",
                    "Für den Preis gar nicht schlecht.", "{item} fühlt sich richtig hochwertig an.",
                    "{item} ist einfach toll.", "{item} war ein perfektes Geschenk."),
    "product_neg": ("{item} ist nicht wie beschrieben.", "Die Qualität ist enttäuschend.",
                    "{item} war nach einer Woche kaputt.", "{item} sieht in echt billig aus.",
                    "Die Farbe ist ganz anders als auf den Fotos.", "Mit dem Artikel bin ich nicht zufrieden.",
                    "{item} ist das Geld nicht wert.", "{item} ist nach ein paar Mal Benutzen auseinandergefallen."),
    "site_pos": ("Die Website ist einfach zu bedienen.",
                 "Ich habe auf der Seite schnell gefunden, was ich gesucht habe.",
                 "Die Website läuft richtig flüssig.", "Tolle Produktfotos und klare Beschreibungen auf der Seite.",
                 "Die Seite ist übersichtlich und schnell.", "Die Suche auf der Website funktioniert gut."),
    "site_neg": ("Die Website ist langsam und verwirrend.", "Die Größentabelle war nirgends auf der Seite zu finden.",
                 "Die Seite ist auf meinem Handy ständig abgestürzt.", "Die Suche auf der Website ist nutzlos.",
                 "Auf der Website findet man sich kaum zurecht.", "Die Produktseiten laden sehr langsam."),
    "checkout_pos": ("Der Bezahlvorgang ging schnell und einfach.", "Das Bezahlen war unkompliziert.",
                     "Der Checkout hat nur eine Minute gedauert.", "Problemlos mit PayPal bezahlt.",
                     "Die Bestellung war ein Kinderspiel.", "Der Checkout lief reibungslos."),
    "checkout_neg": ("Der Checkout war eine Qual.", "Die Zahlung ist zweimal fehlgeschlagen.",
                     "Der Bestellvorgang ist viel zu lang.", "Ich musste meine Adresse dreimal eingeben.",
                     "Das Bezahlen war unnötig kompliziert.", "Der Rabattcode hat an der Kasse nicht funktioniert."),
    "service_pos": ("Der Kundenservice war sehr hilfsbereit.", "Der Kundenservice hat mein Problem schnell gelöst.",
                    "Innerhalb einer Stunde eine Antwort vom Kundenservice.",
                    "Freundlicher und hilfsbereiter Kundenservice.",
                    "Die Mitarbeiterin war nett und hat alles geregelt.", "Super Kundenservice."),
    "service_neg": ("Der Kundenservice hat nie geantwortet.", "Der Kundenservice konnte nicht helfen.",
                    "Ich musste den Kundenservice dreimal kontaktieren.",
                    "Der Kundenservice schickt nur Standardantworten.",
                    "Niemand beim Kundenservice konnte mir helfen.", "Miserabler Kundenservice."),
    "returns_pos": ("Die Rücksendung war einfach und kostenlos.", "Mein Geld war schnell zurück.",
                    "Die Retoure lief ohne Probleme.", "Das Zurückschicken war ganz einfach.",
                    "Die Erstattung kam innerhalb weniger Tage."),
    "returns_neg": ("Die Rücksendung ist umständlich.", "Ich warte immer noch auf meine Erstattung.",
                    "Die Rücksendung kostet viel zu viel.", "Meine Retoure ist verloren gegangen.",
                    "Es hat Wochen gedauert, bis ich mein Geld zurück hatte."),
    "ticket_open": ("Hallo,", "Guten Tag,", "Guten Morgen,", "Liebes Kundenservice-Team,", ""),
    "ticket_close": ("Danke.", "Vielen Dank im Voraus.", "Mit freundlichen Grüßen.",
                     "Ich bitte um eine schnelle Antwort.", ""),
    "late_delivery": ("Wo bleibt meine Bestellung? Sie hätte längst da sein sollen.",
                      "Mein Paket ist verspätet. Wann wird es geliefert?",
                      "Die Sendungsverfolgung hat sich seit Tagen nicht geändert. "
                      "Was ist mit meiner Bestellung los?",
                      "Ich habe immer noch nichts erhalten, obwohl die Lieferung versprochen war.",
                      "Meine Bestellung ist immer noch nicht angekommen."),
    "damaged": ("Meine Bestellung kam beschädigt an. Was können Sie tun?",
                "Der Karton war zerdrückt und {item} ist kaputt.",
                "{item} kam beschädigt an, ich hätte gerne Ersatz.",
                "Das Paket wurde beim Transport beschädigt. Bitte helfen Sie mir.",
                "{item} kam kaputt bei mir an. Ich möchte mein Geld zurück."),
    "sizing": ("{item} passt nicht. Kann ich eine andere Größe bekommen?",
               "Die Größe stimmt nicht, was empfehlen Sie?", "Ich brauche eine andere Größe.",
               "Ihre Größentabelle stimmt wohl nicht, {item} ist viel zu klein."),
    "product_question": ("Wie pflege ich den Artikel am besten?", "Gibt es den Artikel auch in einer anderen Farbe?",
                         "Können Sie mir mehr über das Material sagen?", "Wann ist der Artikel wieder auf Lager?"),
    "return_question": ("Wie kann ich meine Bestellung zurückschicken?",
                        "Kann ich meine Bestellung noch zurückgeben?",
                        "Wo finde ich das Rücksendeetikett?", "Wie lange dauert eine Erstattung?"),
}

FRAGMENTS: dict[str, Fragments] = {"en": EN, "nl": NL, "da": DA, "de": DE}

ITEMS: dict[str, tuple[tuple[str, ...], ...]] = {
    # per category (catalog order: apparel, shoes, accessories, home, beauty), the five nouns of
    # cxlab.demo.catalog.NOUNS as a definite noun phrase
    "en": (("the jacket", "the dress", "the sweater", "the shirt", "the coat"),
           ("the pair of sneakers", "the pair of boots", "the pair of sandals", "the pair of loafers",
            "the pair of running shoes"),
           ("the bag", "the belt", "the scarf", "the watch", "the cap"),
           ("the lamp", "the blanket", "the vase", "the cushion", "the mug"),
           ("the face cream", "the perfume", "the shampoo", "the lipstick", "the serum")),
    "nl": (("de jas", "de jurk", "de trui", "het shirt", "de mantel"),
           ("het paar sneakers", "het paar laarzen", "het paar sandalen", "het paar loafers",
            "het paar hardloopschoenen"),
           ("de tas", "de riem", "de sjaal", "het horloge", "de pet"),
           ("de lamp", "het plaid", "de vaas", "het kussen", "de mok"),
           ("de gezichtscrème", "het parfum", "de shampoo", "de lippenstift", "het serum")),
    "da": (("jakken", "kjolen", "sweateren", "skjorten", "frakken"),
           ("parret sneakers", "parret støvler", "parret sandaler", "parret loafers", "parret løbesko"),
           ("tasken", "bæltet", "tørklædet", "uret", "kasketten"),
           ("lampen", "tæppet", "vasen", "puden", "kruset"),
           ("ansigtscremen", "parfumen", "shampooen", "læbestiften", "serummet")),
    "de": (("die Jacke", "das Kleid", "der Pullover", "das Hemd", "der Mantel"),
           ("das Paar Sneaker", "das Paar Stiefel", "das Paar Sandalen", "das Paar Loafer", "das Paar Laufschuhe"),
           ("die Tasche", "der Gürtel", "der Schal", "die Uhr", "die Mütze"),
           ("die Lampe", "die Decke", "die Vase", "das Kissen", "die Tasse"),
           ("die Gesichtscreme", "das Parfüm", "das Shampoo", "der Lippenstift", "das Serum")),
}

SMILEY = {1: (" :)", " 👍", " :-)"), -1: (" :(", " 😡", " :-(")}


def _pick(options: Sequence[str], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _uncap(lang: str, s: str) -> str:
    """A sentence's first letter in lower case, to follow a conjunction (not English "I")."""
    first = s.split(" ", 1)[0]
    if lang == "en" and (first == "I" or first.startswith("I'")):
        return s
    return s[:1].lower() + s[1:]


def sentence(lang: str, aspect: int, positive: bool, item: str, days: int, u: float) -> str:
    """One sentence about ``ASPECTS[aspect]``, with its slots filled."""
    key = f"{ASPECTS[aspect]}_{'pos' if positive else 'neg'}"
    return _pick(FRAGMENTS[lang][key], u).replace("{item}", item).replace("{days}", str(days))


def compose(
    lang: str, parts: Sequence[tuple[int, bool]], overall: int, item: str, days: int, u: Sequence[float],
    frame: bool = True,
) -> str:
    """A review-like text: opener, one sentence per ``(aspect, positive)`` in ``parts`` (a change of
    polarity gets a "but"), closer. ``overall`` is 1, 0 or -1; ``u`` holds at least 8 uniforms in [0, 1)."""
    f = FRAGMENTS[lang]
    tone = {1: "pos", 0: "mix", -1: "neg"}[overall]
    out: list[str] = []
    if frame:
        out.append(_pick(f[f"open_{tone}"], u[0]))
    prev: bool | None = None
    for k, (aspect, positive) in enumerate(parts):
        s = _cap(sentence(lang, aspect, positive, item, days, u[1 + k]))
        if prev is not None and positive != prev:
            s = f"{f['but'][0]} {_uncap(lang, s)}"
        out.append(s)
        prev = positive
    if frame:
        out.append(_pick(f[f"close_{tone}"], u[4]))
    text = " ".join(p for p in out if p)
    if overall != 0 and u[5] < 0.06:
        text += _pick(SMILEY[overall], u[6])
    if u[7] < 0.05:
        text = text.lower()
    elif u[7] > 0.96 and text.endswith("."):
        text = text[:-1]
    return text


def ticket(lang: str, reason: int, item: str, u: Sequence[float]) -> str:
    """A support ticket about ``TICKET_REASONS[reason]``."""
    f = FRAGMENTS[lang]
    body = _cap(_pick(f[TICKET_REASONS[reason]], u[0]).replace("{item}", item))
    parts = [_pick(f["ticket_open"], u[1]), body, _pick(f["ticket_close"], u[2])]
    return " ".join(p for p in parts if p)
