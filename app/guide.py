"""Help ▸ Guide: one short page per tab, in words a lecture audience understands.

The text lives here and nowhere else (the README points to the menu, it does not repeat it). Pages are
plain data — key, title, HTML — so the dialog (widgets/guide_dialog.py) stays a thin view and a test can
check that every tab has its page. Keys are the main window's tab keys ('explorer' and LAZY_TABS).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GuidePage:
    key: str
    title: str
    html: str


EXPLORER = """
<h3>Explorer: one image, one model, one attack, step by step</h3>
<p>An <b>adversarial attack</b> changes an image so little that a person sees no difference, yet the
classifier changes its answer. The Explorer shows such an attack as it happens.</p>
<h4>What it shows</h4>
<ul>
<li><b>Original</b>: the image as the model sees it, at the chosen resolution.</li>
<li><b>Adversarial</b>: the original plus the attack's change. Usually it looks the same.</li>
<li><b>Perturbation</b>: the change itself, made visible. <i>Channel mean</i>: red raises a pixel,
blue lowers it. <i>Amplified RGB</i>: grey is unchanged. The ▾ button chooses the view and the scale.</li>
<li><b>|Difference|</b>: how much each pixel moved, over all three colours; the colour bar gives the unit.</li>
<li>The <b>banner</b> above says in one line what happened: fooled or not, and into which class.</li>
<li><b>Top classes</b>: the model's five most likely answers for the adversarial image.
<b>Diagnostics</b>: warning signs that the attack itself went wrong, so that "the model held" can be
trusted, or not.</li>
</ul>
<h4>How to read the plots (one point per attack step)</h4>
<ul>
<li><b>Loss</b>: what the attack pushes up. Rising means the attack is making progress.</li>
<li><b>Margin</b>: how far the model still is from changing its mind. Below zero, it is fooled.</li>
<li><b>Probability</b> of the true class (and of the target class in a targeted attack).</li>
<li><b>Norms</b>: the size of the change. <i>Linf</i> is the largest change of any one pixel (in grey levels
out of 255); <i>L2</i> is the total energy of the change.</li>
</ul>
<h4>How to use it</h4>
<p>Pick a picture in the strip at the bottom, an attack and a budget ε on the left, and press
<b>Run (F5)</b>. <b>Pause (F6)</b>, <b>Step (F7)</b> and <b>Stop (Esc)</b> act on the run;
<b>Live (Ctrl+L)</b> reruns at once whenever ε, the norm, the steps or the resolution change. The mouse wheel zooms all four
pictures together, a drag pans them, a double click shows the whole image; pointing at a pixel reads its
values in every pane. The <b>Presets</b> menu holds ready-made demos. Every run is saved and can be opened,
replayed or compared from the File menu.</p>
<h4>The idea behind it</h4>
<p>Szegedy et al. (2014) found that tiny, carefully chosen changes fool neural networks; Goodfellow,
Shlens and Szegedy (2015) gave the one-step attack FGSM; Madry et al. (2018) the many-step PGD used here by
default.</p>
"""

ANALYSIS = """
<h3>Analysis: beyond one image</h3>
<p>The Explorer shows one attack on one image. The Analysis tab asks how general that is: over many images,
many budgets, or other models. Choose the images on the left (demo scenes the model never saw, or a folder
of yours) and press one of the buttons; the result appears in its own tab on the right. Attacks with a fixed
budget use the attack set in the Explorer.</p>
<h4>The six analyses, and how to read them</h4>
<ul>
<li><b>Robust accuracy vs ε</b>: the share of images still classified correctly as the budget grows.
The curve starts at the clean accuracy and falls; the faster it falls, the more fragile the model.</li>
<li><b>Minimal perturbations</b>: for each image, the smallest change that fools the model, as a
histogram. Small values, far left, mean easy to fool.</li>
<li><b>Loss landscape</b>: the model's loss on a flat slice through the image. One axis is the attack's
direction, the other a random one; colours show the loss, white lines the borders between the classes the
model would answer. Along the attack's direction another class comes much sooner than along the random one.</li>
<li><b>Noise vs attack</b>: random noise of exactly the attack's size, against the attack. Noise almost
never fools the model, the attack does: the direction of the change matters, not its size.</li>
<li><b>Transfer</b>: adversarial images made on one model, shown to another. A high share fooled
means the weakness is shared, and an attacker need not know the model. Tick the models to compare
under <i>Compare … with</i> in the Transfer view, or add one with <i>Add a model file…</i>.</li>
<li><b>Frequency bands</b>: where the change's energy sits, from fine detail (left) to coarse shapes,
beside the image's own. Attacks often work in detail that people barely notice.</li>
</ul>
"""

RESOLUTION = """
<h3>Resolution lab (Dube): do larger images need smaller changes?</h3>
<h4>The claim it tests</h4>
<p>Simant Dube, <i>High Dimensional Spaces, Deep Learning and Adversarial Examples</i> (arXiv 1801.00634):
the expected size (L2 norm) of the smallest adversarial change shrinks like 1/√n as the image resolution
n grows, and goes to zero. So sharper images would be easier to fool, because images carry detail at every
scale.</p>
<h4>What it does</h4>
<p>It draws the same scenes at several sizes (16, 32, 64, … pixels a side) — finer samplings of one
picture, not blown-up copies — lets the model see each size as it is, and finds for each image and size
the smallest change that fools the model. It then plots these sizes against the image side on log–log
axes, where a power law is a straight line.</p>
<h4>How to read it</h4>
<ul>
<li>The sentence on top is the verdict in plain words; the details and caveats are one click below it.</li>
<li>Faint dots are single images, the red points their median (dashed: the mean), the solid line the
fitted slope; its 95% interval is in the details under the verdict.</li>
<li>The dotted lines are what each reading of the claim predicts. A falling line (slope −1/2 or −1 for
the raw L2 size) agrees with Dube. A line rising with slope about +1 for raw L2, and flat for the
per-pixel (RMS) and Linf sizes, is what a model does that treats every size as the same picture: the
change per pixel stays the same.</li>
<li>The strip at the bottom shows the smallest change of one image at each size, all drawn at one size.</li>
</ul>
<h4>Caveats, said in the lab too</h4>
<p>Here n counts pixel values (3·s² for an s×s colour image); the paper's exact definitions and
assumptions could not be checked here. A model that shrinks every input to one fixed size shows only the
effect of that shrinking, not of resolution; the lab says so when it sees one.</p>
"""

STABILITY = """
<h3>Stability lab (Bastounis, Hansen, Vlačić): accurate, or stable, but not both?</h3>
<h4>The claim it tests</h4>
<p>Alexander Bastounis, Anders C. Hansen and Verner Vlačić, <i>The mathematics of adversarial attacks in AI —
Why deep learning is unstable despite the existence of stable neural networks</i> (arXiv 2109.06098):
training neural networks of one <b>fixed</b> size gives networks that are either inaccurate or, if
accurate, unstable (a tiny change flips their answer) — although accurate <i>and</i> stable networks exist
for the same problems. Those good networks must change their size with the problem, and for some problems
no algorithm finds them with a probability better than one half.</p>
<h4>The problem it uses</h4>
<p>Points in a square (or a cube of d dimensions) coloured in K stripes that alternate. Every point lies at
least a distance δ from the edge of its stripe, so a perfect classifier can be stable: no change smaller than
δ needs to flip its answer. More stripes make the problem harder.</p>
<h4>The networks it compares</h4>
<ul>
<li><b>Fixed MLP</b>: one ReLU network of a fixed size, trained with Adam, the same for every K and d.</li>
<li>Networks that grow with the problem, built without training: a <b>zigzag</b> with about 2K units,
<b>1-nearest-neighbour</b> written as a ReLU network, and a <b>widened MLP</b>.</li>
</ul>
<h4>How to read the plots</h4>
<ul>
<li><b>Training loss</b> and <b>accuracy while training</b>: live, as Adam trains the fixed network.</li>
<li><b>Test accuracy</b>: on fresh points the network never saw, for each K.</li>
<li><b>Instability ratio ρ</b>: the distance to the nearest point where the answer flips, divided by the
data's margin δ. ρ at or above 1 (the dashed line) is as stable as the data allow; far below 1 is
unstable.</li>
<li><b>Fixed MLP runs by class</b>: how many trainings came out accurate and stable, accurate but
unstable, or inaccurate. The paper predicts the first kind becomes rare.</li>
</ul>
<h4>Caveats, said in the lab too</h4>
<p>The theorem is about the worst problem, and stripes are one family; it is about ideal training, Adam is
an approximation; distances found by attacks are upper bounds and the certified bounds are loose; the
part about probability 1/2 cannot be simulated.</p>
"""

PAGES: tuple[GuidePage, ...] = (
    GuidePage("explorer", "Explorer", EXPLORER),
    GuidePage("analysis", "Analysis", ANALYSIS),
    GuidePage("resolution", "Resolution lab", RESOLUTION),
    GuidePage("stability", "Stability lab", STABILITY),
)


def page_index(key: str) -> int:
    """The page of a tab key; the first page for a tab that has none."""
    for index, page in enumerate(PAGES):
        if page.key == key:
            return index
    return 0
