"""Function words the request check sets aside: words that shape a sentence but never name what
is asked for (pronouns, possessives, articles, prepositions, conjunctions, auxiliaries and
common sentence adverbs).

The content check's filler lists (:data:`tagengo.dedup.content.FILLERS`) stay short because
they also build the content key, which merges on equality; the request check only uses these
to decide which differing words the substitution test must look at. On MT-Bench-X, 11 of the
137 same-request pairs it kept apart differed only in such words ("aber"/"jedoch",
"deine"/"Ihre", "vi"/"ti", "della"/"nella", "pero", "dann"): a post-editor's or another
translator's choice, not another request. Italian had no filler list at all. Words that *do* change a request are left out on
purpose and stay content: negations and "without" (:data:`tagengo.dedup.request.NEGATIONS`),
relations ("before"/"after", "more"/"less": :data:`tagengo.dedup.request.RELATIONS`, removed
from these sets where they overlap), question words ("why" is not "how"), quantifiers ("all",
"each", "only", "most") and number words. Written for this project.
"""

from __future__ import annotations

from tagengo.dedup.content import _strip_accents


def _words(text: str) -> frozenset[str]:
    words = text.split()
    return frozenset(words) | frozenset(_strip_accents(w) for w in words)


FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": _words(
        """i me my mine myself you your yours yourself yourselves he him his himself she her hers herself
        it its itself we us our ours ourselves they them their theirs themselves one ones
        this that these those such
        a an the
        am is are was were be been being have has had having do does did done will would shall should
        may might can could must ought
        of to in on at by for from with about into onto over through during within upon across
        along toward towards per via among between against around
        and or but yet so nor either although though however therefore thus hence also too still
        then even just already again rather quite very really actually indeed further furthermore
        moreover instead otherwise meanwhile whereas while whereby
        there here as if whether because since unless until
        please kindly dear thanks thank hello hi hey well ok okay"""
    ),
    "de": _words(
        """ich mich mir mein meine meinen meinem meiner meines du dich dir dein deine deinen deinem deiner
        deines er ihn ihm sein seine seinen seinem seiner seines sie ihr ihre ihren ihrem ihrer ihres
        es wir uns unser unsere unseren unserem unserer unseres euch euer eure euren eurem eurer
        sich man jemand etwas
        der die das den dem des ein eine einen einem einer eines
        dies diese dieser diesen diesem dieses jene jener jenes derselbe dieselbe dasselbe solch solche
        solchen solcher
        bin bist ist sind seid war waren wäre wären sein gewesen habe hast hat haben habt hatte hatten
        hätte hätten werde wirst wird werden werdet wurde wurden würde würden kann kannst können könnt
        könnte könnten soll sollst sollen sollte sollten muss musst müssen müsste darf dürfen möchte
        möchten mag mögen will willst wollen
        von vom zu zum zur in im ins an am auf aus bei mit für um durch gegen seit bis hinsichtlich
        bezüglich gemäß laut innerhalb während wegen trotz statt anstatt
        und oder aber sondern doch jedoch allerdings denn dennoch trotzdem sowie sowohl als auch noch
        schon bereits dann danach daher deshalb deswegen also somit folglich zudem außerdem ebenfalls
        ebenso je jeweils eben halt ja mal nun jetzt gerade etwa eigentlich wirklich sehr ganz recht
        dabei dazu damit darin darauf daraus darüber davon dafür dagegen hierbei hierzu hier dort da
        wenn falls ob dass weil obwohl sodass indem wobei
        bitte danke hallo liebe lieber"""
    ),
    "fr": _words(
        """je j me m moi mon ma mes mien tu t te toi ton ta tes il elle lui le la l les leur leurs se s
        soi son sa ses nous notre nos vous votre vos ils elles eux on y en
        un une des du de d au aux
        ce c cet cette ces ceci cela ça celui celle ceux celles
        suis es est sommes êtes sont étais était étaient été être ai as a avons avez ont avais avait
        avaient eu avoir fais fait faites font vais va allez vont serait seraient sera seront aurait
        peux peut pouvez peuvent pourrait pourriez pourrais dois doit devez devrait devriez veux veut
        voulez voudrais voudriez
        à dans par pour sur avec chez vers entre parmi selon concernant envers pendant depuis via
        et ou mais donc or car cependant pourtant toutefois néanmoins aussi encore déjà puis ensuite
        alors ainsi même très bien vraiment également enfin
        si que qu qui dont lorsque puisque comme afin
        svp stp merci bonjour salut cher chère"""
    ),
    "es": _words(
        """yo me mi mí mis mío tú tu te ti tus tuyo él ella lo la le les los las se sí su sus suyo
        nosotros nosotras nos nuestro nuestra nuestros nuestras vosotros vosotras os vuestro vuestra
        usted ustedes ellos ellas uno
        el un una unos unas del al de
        este esta esto estos estas ese esa eso esos esas aquel aquella aquello tal
        soy eres es somos son era eran fue fueron sea sean ser sido estoy estás está estamos están estar
        he has ha hemos han había haber hay tengo tienes tiene tenemos tienen tener hago hace hacen
        voy vas va vamos van puedo puedes puede podemos pueden podría podrías debe debes debería deberías
        quiero quieres quiere
        a en sobre para por con hacia hasta desde entre según mediante durante acerca respecto
        y e o u pero sino aunque embargo además también tampoco todavía aún ya luego
        entonces así pues incluso muy bien realmente simplemente
        si que quien cual cuyo porque como
        favor gracias hola querido querida"""
    ),
    "it": _words(
        """io me mi mio mia miei mie tu te ti tuo tua tuoi tue lui lei egli ella esso essa lo la li le gli
        ne ci si sé suo sua suoi sue noi nostro nostra nostri nostre voi vi vostro vostra vostri vostre
        loro essi esse
        il l un uno una un' i gli
        di del dello della dei degli delle dell a al allo alla ai agli alle all da dal dallo dalla dai
        dagli dalle dall in nel nello nella nei negli nelle nell con col su sul sullo sulla sui sugli
        sulle sull per tra fra verso presso riguardo circa durante mediante secondo
        questo questa questi queste quello quella quelli quelle quel quei ciò tale tali
        sono sei è siamo siete era erano fu sia siano essere stato stata stati ho hai ha abbiamo avete
        hanno avere avuto faccio fai fa fate fanno posso puoi può possiamo potete possono potresti
        potreste potrebbe devi deve dovete dovresti dovreste vorrei vuoi volete
        e ed o od ma però tuttavia quindi dunque perciò inoltre anche ancora già poi allora così
        pure persino molto bene davvero proprio infatti invece
        se che chi cui perché poiché mentre come
        favore grazie ciao caro cara gentilmente"""
    ),
    "pt": _words(
        """eu me mim meu minha meus minhas tu te ti teu tua teus tuas você vocês ele ela eles elas lhe
        lhes o a os as se si seu sua seus suas nós nos nosso nossa nossos nossas vós vos
        um uma uns umas do da dos das no na nos nas ao à aos às pelo pela pelos pelas num numa
        este esta isto estes estas esse essa isso esses essas aquele aquela aquilo tal
        sou és é somos são era eram foi foram seja sejam ser sido estou está estamos estão estar
        tenho tem temos têm ter há haver faço faz fazem vou vai vamos vão posso pode podemos podem
        poderia poderias deve deves deveria quero quer
        de em para por com sobre entre até desde durante segundo mediante perante
        e ou mas porém contudo todavia entretanto portanto logo também ainda já então assim pois
        mesmo muito bem realmente
        se que quem qual cujo porque como
        favor obrigado obrigada olá oi caro cara"""
    ),
    "nl": _words(
        """ik me mij mijn jij je jou jouw u uw hij hem zijn zij ze haar het wij we ons onze jullie hun
        zich men
        de een
        dit dat deze die zulk zulke
        ben bent is zijn was waren geweest heb hebt heeft hebben had hadden word wordt worden werd
        zal zult zullen zou zouden kan kun kunt kunnen kon konden moet moeten mag mogen wil wilt willen
        van in op aan bij met voor naar om uit door over tot tegen tussen volgens tijdens via
        en of maar dus toch echter want daarom ook nog al dan toen zo even wel heel erg zeer
        als dat omdat hoewel terwijl
        alsjeblieft alstublieft bedankt dank hallo hoi beste"""
    ),
    "ru": _words(
        """я меня мне мной мой моя моё мои моего моей моих ты тебя тебе тобой твой твоя твоё твои он его
        ему им она её ей ею оно мы нас нам нами наш наша наше наши вы вас вам вами ваш ваша ваше ваши
        они их ими себя себе свой своя своё свои
        этот эта это эти этого этой этих тот та то те такой такая такое такие
        быть был была было были есть будет будут являться является мочь может могу можете могли
        должен должна должны хочу хотите
        в во на с со к ко по о об обо от из у за для при про через между
        и а но или да однако также тоже ещё уже потом затем тогда так поэтому итак ведь же ли бы
        очень действительно просто именно
        если что чтобы который которая которое которые потому как
        пожалуйста спасибо привет здравствуйте уважаемый дорогой"""
    ),
    # Scripts without spaces: every character is a word (tagengo.dedup.request), so these are
    # characters. Chinese: structural particles, aspect and sentence-final particles, pronouns,
    # demonstratives and measure words, common prepositions, conjunctions and modal helpers, and
    # the second characters of "how" (怎么/怎样) and "so" (这么/那么), whose first character stays
    # content: "why" (为什么) is not "how" (怎么). Left content: negations (不, 没, 别), numbers,
    # quantifiers (都, 每, 只, 最), question characters (怎, 什, 谁, 哪, 几).
    "zh": frozenset(
        "的地得了着过吗呢吧啊呀嘛么样请您你我他她它们咱这那些个种位在于把被给对向从和与及或而且就也还才又再很太非常吧能可以会要想应该需"
    ),
    # Japanese: hiragana write particles, inflections, auxiliaries and politeness (を, は, が, に,
    # で, ください, ます); the request is named in kanji and katakana. Every hiragana character is
    # a function character, except the negative ない/ず/ぬ stems, which stay content.
    "ja": frozenset(chr(c) for c in range(0x3041, 0x3097) if chr(c) not in "なずぬ")
    | frozenset("ー、。・「」"),
}


def _group(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Verbs of a request's instruction that say the same thing, per language, in groups: explaining
#: ("explain", "describe", "discuss", "erläutern"/"erkläre"), writing ("write", "compose",
#: "draft", "texten"/"schreiben") and using ("use", "utilise"). Translators and post-editors swap
#: them freely (MT-Bench-X: "Erläutern"/"Erkläre", "Texten"/"Schreiben", "discutete"/"discuti");
#: a request changes with its object, not with which of these verbs asks for it. Two differing
#: words whose stems fall in one group are matched like two forms of one word. Infinitives and
#: the imperatives a prompt uses; the check compares stems. Written for this project.
INTERCHANGEABLE: dict[str, tuple[frozenset[str], ...]] = {
    "en": (
        _group("explain explains describe describes elaborate discuss discusses outline clarify"),
        _group(
            "write writes compose composes draft drafts create creates craft produce generate develop pen"
        ),
        _group("use uses utilize utilise employ apply"),
    ),
    "de": (
        _group("""erklären erkläre erklärt erklär erläutern erläutere erläutert beschreiben beschreibe
        beschreibt beschreib schildern schildere schildert darlegen diskutieren diskutiere
        diskutiert erörtern erörtere erörtert"""),
        _group("""schreiben schreibe schreibt schreib verfassen verfasse verfasst erstellen erstelle
        erstellt erstell entwerfen entwerfe entwerft entwirf erarbeiten erarbeite erarbeitet texten
        texte textet formulieren formuliere formuliert entwickeln entwickle entwickelt generieren
        generiere generiert kreieren kreiere kreiert erzeugen erzeuge erzeugt"""),
        _group("verwenden verwende verwendet benutzen benutze benutzt nutzen nutze nutzt einsetzen anwenden"),
    ),
    "fr": (
        _group("""expliquer explique expliquez décrire décris décrivez détailler détaille détaillez
        exposer expose exposez discuter discute discutez présenter présente présentez"""),
        _group("""écrire écris écrivez rédiger rédige rédigez composer compose composez créer crée créez
        élaborer élabore élaborez concevoir conçois concevez produire produis produisez générer
        génère générez développer développe développez"""),
        _group("utiliser utilise utilisez employer emploie employez"),
    ),
    "es": (
        _group("""explicar explica explique expliquen describir describe describa detallar detalla
        detalle exponer expón exponga discutir discute discuta comentar comenta comente"""),
        _group("""escribir escribe escriba redactar redacta redacte componer compón componga crear crea
        cree elaborar elabora elabore generar genera genere desarrollar desarrolla desarrolle"""),
        _group("usar usa use utilizar utiliza utilice emplear emplea emplee"),
    ),
    "it": (
        _group("""spiegare spiega spieghi spiegate descrivere descrivi descriva descrivete illustrare
        illustra illustri illustrate esporre esponi esponga discutere discuti discuta discutete
        dettagliare dettaglia"""),
        _group("""scrivere scrivi scriva scrivete redigere redigi rediga comporre componi componga creare
        crea crei create elaborare elabora elabori generare genera generi sviluppare sviluppa
        sviluppi"""),
        _group("usare usa usi usate utilizzare utilizza utilizzi utilizzate impiegare impiega"),
    ),
    "pt": (
        _group("""explicar explica explique descrever descreve descreva detalhar detalha detalhe expor
        expõe exponha discutir discute discuta comentar comenta comente"""),
        _group("""escrever escreve escreva redigir redige redija compor compõe componha criar cria crie
        elaborar elabora elabore gerar gera gere desenvolver desenvolve desenvolva"""),
        _group("usar usa use utilizar utiliza utilize empregar emprega empregue"),
    ),
    "nl": (
        _group("uitleggen beschrijven beschrijf bespreken bespreek toelichten"),
        _group(
            "schrijven schrijf opstellen maken maak creëren creëer genereren genereer ontwikkelen ontwikkel"
        ),
        _group("gebruiken gebruik gebruikt hanteren hanteer"),
    ),
    "ru": (
        _group("объясни объясните объяснить опиши опишите описать обсуди обсудите обсудить изложи изложите"),
        _group(
            "напиши напишите написать составь составьте составить создай создайте создать сочини сочините"
        ),
        _group("используй используйте использовать примени примените применить"),
    ),
}
