#!/usr/bin/env python3
"""Build models/oeq_ceq/data/train.csv from the hand-written seed lists below.

Deterministic and dependency-free (Python 3.11 standard library only).
Every seed line was written by hand.  The script only applies transcript-style
surface transforms to them (lower-casing and stripping punctuation as an ASR
system would, prefixing fillers / discourse markers / children's names,
small disfluencies such as a repeated first word), then de-duplicates on
normalised text and writes the CSV with the csv module.

Each item's transforms are drawn from a random.Random seeded with a hash of the
item itself, so editing one seed never changes the rows produced by another.

Run from the repository root:  python models/oeq_ceq/data/build_train.py
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import re

# (label, category, text, bare_ok).  A seed line starting with "~" is only
# emitted with a filler or a child's name around it, never on its own.
SEEDS: list[tuple[str, str, str, bool]] = []


def add(label: str, category: str, block: str) -> None:
    for line in block.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            bare_ok = not line.startswith("~")
            SEEDS.append((label, category, line.lstrip("~"), bare_ok))


# =====================================================================
# OEQ -- open wh-questions (style 11)
# =====================================================================
add("OEQ", "open_wh", """
Why did the tower fall down?
Why do you think the ice is melting so fast?
Why do leaves change colour in the fall?
Why is the snail hiding in its shell?
Why did you choose the purple paper?
Why do you think the bird built its nest way up there?
Why does the ball roll faster on the steep ramp?
Why is the sand sticking together now?
Why did the boat tip over?
Why do we need to water the plants?
Why do you think the puppy in the story ran away?
Why did the paint turn brown when you mixed it all together?
Why do you think the caterpillar eats so much?
Why are bubbles always round?
Why did the dough get so sticky?
Why do you think she's crying in this picture?
Why did you put the big blocks on the bottom?
Why would a bear sleep all winter long?
Why do you think the worms came out after the rain?
Why does your shadow get longer in the afternoon?
Why did the bean in the window grow taller than the one in the cupboard?
Why do you like playing in the home corner so much?
Why did the magnet pick up the paperclip but not the crayon?
Why do you think the wolf wanted to get into the house?
Why is your tower wobbling like that?
Why did our snowman melt?
Why might the fish be hiding behind the rock?
Why do you think we wear coats when it's cold?
Why does the drum sound louder when you hit it hard?
Why did the playdough crack when it dried out?
Why is the water in the bucket warm now?
Why do you think the baby bird keeps opening its mouth?
Why didn't the glue hold the sticks together?
Why do you think Goldilocks went into the bears' house?
Why should we be gentle with the guinea pig?
Why do you think the car stopped at the bottom?
Why did the paper towel turn blue?
Why does the pumpkin feel slimy inside?
Why did you decide to make it so tall?
Why is it important to take turns on the bike?
Why do you think the moon looks different some nights?
Why does the rain make puddles on the playground?
Why did the little red hen get upset?
Why are you giving the baby doll a bath?
Why do you think the ant is carrying that crumb?
Why would the farmer need a fence?
Why do you think the ice cube floats?
Why is the bread going hard?
Why do you think the rocket needs fire?
Why do zebras have stripes, do you think?
Why did the sandcastle fall apart when it dried?
Why did your marble go into the wrong cup?
Why do you think our class fish keeps swimming to the top?
Why does the banana peel turn brown?
Why was the giant so grumpy?
How did you make it stand up?
How did you get the colours to swirl like that?
How could we make the ramp go faster?
How can we fix the bridge so the cars don't fall off?
How do you think the rabbit felt when he lost his carrot?
How did the water get inside the cup?
How does a seed know which way is up?
How could we share the blocks so everyone gets some?
How did you figure that out?
How would you build a house for the hamster?
How can we keep the ice from melting before lunch?
How do you think the spider made its web?
How are the two leaves different?
How are these shells alike?
How is a frog different from a toad?
How did you make that sound with the shaker?
How can we find out which one is heavier?
How would you feel if someone knocked your tower down?
How did the story end?
How could we make the dough less sticky?
How do you know it's going to rain?
How do you know that one is the daddy lion?
How did the snail get all the way up the window?
How else could we carry the water to the garden?
How might we get the ball down from the tree?
How does the wind move the clouds?
How did your family celebrate the new baby?
How does the slime feel in your hands?
How did you decide where to put the door?
How would the story be different if the pigs had a brick house first?
How do bees help the flowers?
How could we tell our friend we're sorry?
How can you make your voice sound like the giant?
How do you think the squirrel gets the nuts open?
How do you feel when it thunders?
How is your drawing like Priya's drawing?
How do you think the bubbles get so big?
How did you solve the puzzle so fast?
How could the three bears make a chair that won't break?
How does the sun help our plants?
How would you get across the river if there was no bridge?
How does it feel when the sand slides through your fingers?
How could we sort all these buttons?
How are you going to get the paint off your hands?
How do you think the chick gets out of the egg?
How would you teach a friend to do a somersault?
How can we make the music softer?
How is the snow different from the rain?
How did the dinosaur get stuck in the mud?
How do you think the firefighter feels when the alarm goes off?
How could we make a boat that holds more pennies?
How did you make your tower so wide at the bottom?
How would you cheer up the sad monster?
How does the worm move without any legs?
How can we help the plants when it's really hot?
How do you think the little bear is feeling now?
How might the caterpillar find its food?
How did you get the bubbles to come out of the straw?
How could you make the clay into a bowl?
How do you think people made bread a long time ago?
How are the apple and the orange the same?
How do you want to decorate your crown?
How can we get all the animals onto the ark without it tipping?
How did the wind knock over the chairs?
How are you going to build the roof?
How would you describe the smell of the cinnamon?
How do your feet feel in the cold water?
How did you know it was Jayden's turn?
How could we catch the leaves as they fall?
How come the puddle is gone?
How come the paint looks lighter when it dries?
How come the hamster sleeps all day?
What do you think will happen if we leave the pumpkin outside?
What do you think is inside the egg?
What do you think the caterpillar will do next?
What would happen if we didn't water the bean plant?
What might happen if the wolf blows on the stick house?
What did you notice when you mixed the blue and the yellow?
What else could we use to make a roof?
What else do you know about spiders?
What could we do to make the tower stronger?
What would you do if you found a dinosaur egg?
What makes the car go down the ramp?
What do you see in this picture?
What is happening on this page?
What are you building over there?
What are you making with the playdough?
What are you drawing today?
What are you cooking in the kitchen?
What's your picture about?
What do you remember about our trip to the farm?
What was your favourite part of the story, and why?
What do you think the dog is trying to say?
What would you name the baby goat?
What could the bear do instead of stealing the honey?
What do you think the bunny will do after he wakes up?
What might the ants be carrying?
What would you need to build a rocket to the moon?
What happens when you press really hard with the crayon?
What happened when you dropped the rock in the water?
What does the clay feel like?
What does the rain sound like on the roof?
What did you do at your grandma's house?
What would happen if it rained spaghetti?
What would you do if you were a bird?
What could we make with all these boxes?
What kinds of things do you think will float?
What do you think plants need to grow big?
What do you know about dinosaurs?
What was the hardest part of building it?
What would make the ramp better?
What are some ways we can be kind to our friends?
What do you think is making that scratching noise?
What's different about these two pictures?
What's the same about a cat and a tiger?
What do you wonder about the moon?
What can you tell me about your block city?
What do you hear when you put the shell to your ear?
What's your plan for the castle?
What are you thinking about right now?
What did it look like before it got wet?
What do you think the farmer should do about the fox?
What are the pirates going to do next?
What could we use instead of tape?
What's another way to make ten?
What should the monster eat for dinner?
What would you sell at your sandwich shop?
What makes you feel happy?
What would help you calm your body down?
What do you think your friend needs right now?
What did you learn about worms today?
What do you think made these tracks in the snow?
What might live under this log?
What happens to the puddles when the sun comes out?
What do you like about our new garden?
What would the characters say to each other?
What else could go in our soup?
What do you think happened to the missing sock?
What did you find out when you used the magnifying glass?
What would you change about your boat to make it float?
What could we build to keep the rain off the dolls?
What do you think the mouse is whispering?
What do you think the bird sees from up in the sky?
What would it be like to live under the sea?
What's your favourite thing about winter and why?
What did you see on your walk this morning?
What would you pack for a trip to the beach?
What do you think will grow from these seeds?
What do you think the little pig should do now?
What did the sand do when we poured water on it?
What could happen if we don't clean up the spill?
What does your dragon like to do?
What are you going to put in your garden?
What made you think of using the tubes?
What do you think is going on in this picture?
What do you do when you feel angry?
What's something that makes you feel brave?
What did you and Omar play outside?
What do you think would happen if the cat got into the bird cage?
What else do you see in the puddle?
What's happening to the ice in your hand?
What could we call our new class pet?
What kind of home would you build for a ladybug?
What's your favourite part of your painting, and why?
What did you try first?
What happened after the tower fell down?
What do the clouds look like to you today?
What ideas do you have for our puppet show?
What's the best thing about having a big sister?
What did the bubbles do when the wind blew?
What would the bear say if he could talk?
What do you think we could do with the leftover playdough?
What are you pretending to be?
What sounds did you hear at the park?
What did it feel like when you touched the snake skin?
What do you think the weather does to the flowers?
What's inside a seed, do you think?
What would a robot need to help us clean up?
What problems did you have when you were building it?
What do you think makes thunder?
Where do you think the water went?
Where do you think the squirrel hides its nuts?
Where did you learn that song?
Where have you seen a bridge like this before?
Where might a bunny sleep at night?
Where would you go if you could fly anywhere?
Where do you think the ladybug is going?
Where do you think the bird will build its nest?
Where did you get the idea for your robot?
Where do you think the puddle water goes?
Where else could we look for bugs?
Where would a dinosaur hide, do you think?
Where have you heard that word before?
Who can tell me what a seed needs to grow?
Who can tell me why we wash our hands?
Who has an idea for how to fix it?
Who can think of a way to share the swing?
Who taught you that dance?
Who can tell me something they know about the moon?
Who has a guess about what's in the mystery bag?
Who taught you how to fold it like that?
Who can share what they did on the weekend?
Who can tell me how the story made them feel?
Who can explain how we got our bean to sprout?
Which way do you think works better, and why?
When have you felt scared before?
How was your weekend?
How was your visit to the dentist?
How's it going with your puzzle?
How are you feeling about the field trip?
How do you feel about the new baby at home?
""")

# =====================================================================
# OEQ -- open prompts without question form (style 10)
# =====================================================================
add("OEQ", "open_prompt", """
Tell me about your big idea.
Tell me about your picture.
Tell me more about that.
Tell me what happened.
Tell me how you made it.
Tell me about the house you built.
Tell me what you're going to do with the clay.
Tell me about the people in your family picture.
Tell me what you see when you look through the tube.
Tell me how you got the water to go through the pipe.
Tell me about this part over here.
Tell me why you think it sank.
Tell me about your dream last night.
Tell me what the bear is doing on this page.
Tell me everything you know about sharks.
Tell me how your dog plays at home.
Tell me about the card you're making for your mum.
Tell me what your robot can do.
Tell me what it feels like.
Tell me a story about your dinosaur.
Tell me what you think happens next.
Tell me about the song you were singing.
Tell me how you decided which shells go together.
Tell me about your trip to the beach.
Tell me what you like about this book.
Tell me about the colours you picked.
Tell me how you're feeling right now.
Tell me what you noticed about the worms.
Tell me how you two are going to share the truck.
Tell me about the bugs you found.
Tell Jordan how you made the tunnel.
Tell your friend what you saw at the zoo.
Tell us about the thing you brought for show and tell.
Tell the group what you found under the rock.
Describe what you see.
Describe how it feels.
Describe the monster you drew.
Describe what the seed looks like now.
Describe the sound the rain stick makes.
Describe your favourite place to play.
Describe what happened to the snow we brought inside.
Describe the smell of the orange peel.
Describe how the kitten moves.
Describe what you're cooking for us.
Explain how you built the ramp.
Explain to me how the pulley works.
Explain how you got the ball into the basket.
Explain what you mean.
Explain how you know it's a spider and not an insect.
Explain to your friends how you made green.
Explain why you put the heavy ones at the bottom.
Show me how you made it spin.
Show me how you got it to balance.
Show me what the lion does next.
Show me how the caterpillar moves.
Show me how you'd fix the broken fence.
Show me how your monster walks and tell me about it.
Show me how you figured out the pattern.
Show me how you would feed the baby.
I wonder what would happen if we added more water.
I wonder why the leaves are falling off the tree.
I wonder how the bird learned to fly.
I wonder where the ants are going.
I wonder what the snail eats.
I wonder how we could make this bridge longer.
I wonder what the cat is thinking.
I wonder why the ice is melting faster over here.
I wonder what would happen if we used salt.
I wonder how the spider climbs up the wall.
I wonder what else we could build with these tubes.
I wonder how the story would end if the wolf was nice.
I wonder what made these holes in the leaf.
I wonder why the sky is so grey today.
I wonder how many ways we could sort these.
I wonder what it would be like to be a fish.
I wonder where the rainbow goes.
I wonder what your character might say.
I wonder how the egg feels when it's cracked.
I wonder why the little duck wandered away.
I wonder what we could use to make it sticky.
I wonder how the seeds got inside the apple.
I wonder what your tower needs to stay up.
I wonder how you could get the car to go even farther.
I wonder what will happen to the pumpkin if we leave it for a week.
I wonder why the music makes you want to dance.
I'm wondering how you got it to stay up.
I'm curious how you got it to balance.
I'm curious about your drawing.
I'm curious what you were thinking when you added the blue.
I'm curious why you chose the big brush.
I'd love to hear about your painting.
I'd love to hear how you made that.
I want to hear all about your castle.
I want to know more about your spaceship.
Talk to me about your tower.
Talk about what you see in the sky.
Talk with your partner about what you think will happen.
Say more about that.
Say more about the monster.
Walk me through how you did it.
Help me understand what you mean.
Help me understand how the water got over there.
Let's think about why the ice melted.
Let's talk about how we could make it better.
Let's figure out why the boat keeps tipping.
Let's predict what will happen when we drop it.
Let's see if we can think of other ways to make a square.
Let's imagine what the bear is dreaming about.
Imagine you're a bird, and tell me what you see.
Imagine you could shrink really small. Tell me where you would go.
Pretend you're the giant and tell me how you feel.
Think about what might happen if we open the door.
Think about how your body feels when you're angry.
Share with us what you made.
Share your idea with the group.
Show your friend how the magnet works and explain it.
Let me hear your plan.
Give me some ideas for our snack menu.
Guess what might be inside and tell me why.
Use your words to tell me what's wrong.
Use your words to tell her how you feel.
Make a guess about what will happen.
Tell me what you think, and why.
Tell me one thing you noticed.
Tell me about the shape you made.
I noticed you're working hard on that. Tell me about it.
Hmm, I'd really like to know how you did that.
You look like you have an idea. Tell me about it.
Tell me what you're going to build today.
Tell me about the game you're playing.
Tell me what you know about the letter S.
Explain what the bears did when they came home.
""")

# =====================================================================
# OEQ -- yes/no openings that really invite explanation (style 9)
# =====================================================================
add("OEQ", "yesno_open", """
Do you think it will sink? Why?
Can you tell me more about that?
Can you tell me how you built it?
Do you know why the ice melted?
Would you tell me about your picture?
Can you explain how the car works?
Can you describe what the slime feels like?
Can you show me how you made the bridge stand up?
Could you tell me what happened on the slide?
Do you want to tell me about your castle?
Will you tell me the story of your drawing?
Do you remember what happened when we planted the beans?
Does anyone have an idea about how we could fix this?
Do you have any ideas for where the ladybug could live?
Is it going to float? What makes you think so?
Does it feel rough? How else would you describe it?
Did you like the story? What was your favourite part?
Do you think the bear is sad? Why do you think so?
Can you tell me why you picked those colours?
Can you tell me what you're building?
Can you tell me what the bunny is doing in your picture?
Can you describe the smell?
Can you describe what happened when the tower fell?
Can you explain why the big one is slower?
Can you explain how you sorted them?
Can you explain to Noah how you did that?
Can you show me how the elephant walks?
Can you show me how you would comfort the baby?
Can you show me how you got the marble to go round the loop?
Could you show me how you figured it out?
Could you explain what you mean by that?
Could you describe the bug you found?
Could you tell us about your weekend?
Would you like to tell us about your trip?
Would you tell me more about this part?
Would you explain how your machine works?
Would you show me how you made the pattern?
Will you tell me why the dragon is angry?
Will you tell me what your song is about?
Do you know why the leaves turn orange?
Do you know how the water got up into the flower?
Do you know why the bread rose?
Do you know how birds build their nests?
Do you remember how the story started?
Do you remember what we saw at the pond?
Do you remember how we made the playdough last time?
Do you have an idea about why it didn't work?
Do you have a plan for your tower?
Do you have any ideas about what we could build next?
Does anyone know why the moon changes shape?
Does anyone know how a caterpillar becomes a butterfly?
Does anyone have a guess about what's in the box?
Did you notice anything different about the plant today? What did you see?
Do you think the snow will still be there tomorrow? Why or why not?
Do you think the seeds will grow in the dark? What makes you think that?
Will the car go farther on the carpet? Why do you think so?
Is the ice melting faster in the sun? Why would that be?
Would you rather be a fish or a bird? Why?
Do you like the rain? Why?
Do you think the wolf was being fair? Why not?
Is this one heavier? How can you tell?
Is it the same as yours? How is it different?
Do you think it's alive? How do you know?
Do you think that's a good idea? Tell me why.
Does it smell sweet? What else does it smell like?
Did you enjoy the music? How did it make you feel?
Was it hard to build? What was tricky about it?
Did it work? What happened?
Can you think about what might happen next and tell me?
Can you tell me how you're feeling?
Can you tell me what made you so sad?
Can you tell me what happened between you and Leo?
Can you tell me what you saw outside?
Can you tell me how you know it's a bird?
Can you tell me more about your monster?
Can you tell us how the seed changed?
Can you tell your friends what you noticed?
Can you tell me the story of how you lost your tooth?
Can you explain your plan to the group?
Can you describe your new puppy?
Can you show us how you balanced all those blocks?
Can you show me how you'd make it taller?
Can you share what you did at the water table?
Do you want to tell us what you found?
Would you like to share how you made it?
Do you wanna tell me about it?
Could you tell me how it works?
Do you know what would happen if we mixed them?
Do you know how you could make it stronger?
Do you know why we put the seeds near the window?
Any idea why it keeps falling over?
Any ideas what we could use for the wheels?
Have you thought about how you'll get it across the table? Tell me.
Do you think it will melt? What will it look like?
Will it fit? How could we find out?
Does it look like the one in the book? What's different?
Do you see the clouds? What do they look like to you?
Did you hear that sound? What do you think it was?
Is there something you want to tell me about your picture?
Can you tell me why you think it's a boy?
Can you tell me what's happening in this picture?
Can you explain how the rain got into the bucket?
Can you tell me about the dog in your story?
""")

# =====================================================================
# CEQ -- contrasts for style 9: yes/no or "tell me" asking for one fact
# =====================================================================
add("CEQ", "yesno_contrast", """
Do you think it will sink?
Do you think it will float?
Can you tell me what colour it is?
Can you tell me his name?
Can you tell me her name?
Do you know what this is called?
Can you show me the square?
Can you show me your hands?
Do you know where the glue is?
Can you tell me how many there are?
Do you know the letter A?
Can you tell me which one is bigger?
Can you tell me what letter that is?
Can you tell me what day it is?
Can you show me the biggest one?
Can you show me where your cubby is?
Do you know what colour this is?
Do you know how old your brother is?
Do you know what number this is?
Do you think it's going to rain?
Do you think the ice will melt?
Do you think the seed will grow?
Do you think it's heavy?
Do you think the bunny is hungry?
Do you think you can reach it?
Can you tell me your last name?
Can you tell me what shape this is?
Can you tell me if it's hot?
Can you find the letter B?
Can you point to the triangle?
Can you show me the number three?
Do you know which one is yours?
Do you remember his name?
Do you remember where we put the paint?
Do you remember what colour the bus was?
Do you know what animal this is?
Could you tell me where the scissors are?
Would you tell me if it's too loud?
Do you know the answer?
Do you know how to spell your name?
Can you tell me what sound a cow makes?
Can you tell me what comes after four?
Can you show me which one is heavier?
Did you notice the new fish?
Did you see the rainbow?
Do you remember the song?
Do you know the way to the gym?
Do you know what day we go to the library?
""")

# =====================================================================
# CEQ -- closed wh-questions with one short answer (style 7)
# =====================================================================
add("CEQ", "closed_wh", """
How many blocks are in your tower?
How many legs does a spider have?
How many friends are sitting at this table?
How many cups do we need so everyone gets one?
How many sleeps until the party?
How many apples are left in the basket?
How many wheels does the dump truck have?
How many scoops of flour did you put in?
How many buttons are on your coat?
How many petals does this flower have?
How many are red?
How many ducks are in the pond now?
How many children are here today?
How many eyes does the monster in your picture have?
How many beans did you plant in your cup?
How many pieces of apple do you have left?
How many claps did I do?
How many more do we need to make ten?
How many sides does a triangle have?
How many snails did you find?
How many cars are on the ramp?
How many pennies did the boat hold before it sank?
How much water is in the jug?
How much longer do we have outside?
How much playdough do you need?
How much is left in the bottle?
How old is your baby sister?
How old will you be on your birthday?
How old are you now?
How tall is the sunflower now?
How long is the worm?
How far did the car go?
How heavy is the pumpkin?
What colour is the frog?
What colour do you want for the sky?
What colour do blue and yellow make?
What colour are your boots today?
What colour was the bus in the book?
What colour should the door be?
What colour is the paint on your brush?
What colour are the leaves now?
What shape is the clock?
What shape has three sides?
What shape is the window?
What shape did you cut out?
What shape is a pizza?
What letter does your name start with?
What letter is this?
What letter comes after B?
What sound does the letter M make?
What letter does snake start with?
What's the first letter of Mama?
What number comes after five?
What number is on the door?
What number did you roll?
What number comes next on the track?
What is this bit called?
What's this animal called?
What's her name?
What's your brother's name?
What's the name of the dog in the story?
What's the title of our book today?
What day is it today?
What month is your birthday in?
What's the weather like outside?
What time is lunch?
What animal says moo?
What sound does a duck make?
What does a cow give us?
What's in the bag?
What's in your lunchbox today?
What do we call a baby frog?
What do we call a baby cat?
What do we say when someone gives us something?
What do we do when the music stops?
What is this tool for?
What is the lady in the picture holding?
What are you holding?
What fruit is this?
What did you have for breakfast?
What's your favourite colour?
What's your favourite animal?
What's the name of your teddy?
What song should we sing first?
What goes on top of the pizza, the cheese or the sauce?
What did the hungry caterpillar eat on Monday?
What's the opposite of hot?
What's the biggest animal in the book?
What's this part of the flower called?
What comes after Tuesday?
What kind of animal is this?
What kind of bird is that?
What is the farmer driving?
What do bees make?
What do we use to cut the paper?
What did you bring for show and tell?
What rhymes with cat?
What do you call the baby kangaroo?
Whose turn is it?
Whose shoes are these?
Whose hat is this?
Whose name starts with S?
Whose turn is it to feed the fish?
Whose water bottle is this?
Which one is bigger?
Which cup has more water?
Which one is the triangle?
Which bear is the smallest?
Which book do you want to read?
Which hand is your left hand?
Which way does this puzzle piece go?
Which animal lives on the farm?
Which one is heavier, do you think?
Which jar has the most buttons?
Which colour do you want?
Which tower is taller?
Which one is yours?
Which shoe goes on this foot?
Which group are you in today?
Which bowl was too hot?
Which picture starts with B?
Which one is different?
Which one floated?
Which team are you on?
Which song do you want to sing?
Where does this go?
Where does the glue go when we're done?
Where are your shoes?
Where is the red crayon?
Where did you put the scissors?
Where do the blocks live?
Where is the caterpillar in this picture?
Where's your name tag?
Where do we put our coats?
Where is your other mitten?
Where's the puzzle piece with the sun on it?
Where does the tiger live?
Where do we wash our hands?
Where are you going?
Where did you find that worm?
Where's your nose?
Where's the top of the page?
When is snack?
When is your birthday?
When do we go outside?
When did you lose your tooth?
When does your mum pick you up?
When is it my turn?
Who has the scissors?
Who did this puzzle?
Who is sitting next to you?
Who is your buddy today?
Who is the line leader today?
Who brought the pumpkin in?
Who ate the porridge in the story?
Who lives in this shell?
Who is the helper today?
Who has a birthday this month?
Who wrote this book?
Who's at the door?
Who took the last marker?
Who is missing today?
Who has a blue shirt on?
Who is the baby in this picture?
Who made this mess?
""")

# =====================================================================
# CEQ -- routine requests / checks phrased as questions (style 8)
# =====================================================================
add("CEQ", "routine", """
Can you sit down please?
Could you pass the glue?
Are you listening?
Do you need help?
Will you put that away?
Can everyone find a spot on the rug?
Who wants to go first?
Can you put your shoes on?
Are you ready to go outside?
Did you wash your hands?
Do you need the bathroom?
Are you done with the paint?
Can you hang up your coat?
Could you please push in your chair?
Can you help me clean up the blocks?
Would you like some more water?
Do you want a napkin?
Can you use your walking feet?
Is everyone ready for the story?
Can you give it back to Leo please?
Are you finished eating?
Would you hold the door for us?
Can you find your cubby?
Have you got your hat?
Do you want me to help with your zipper?
Could you wipe the table for me?
Can you say sorry to your friend?
Will you be my helper today?
Can we use our quiet voices?
Are your hands clean?
Did you flush?
Can you throw that in the bin?
Do you have your water bottle?
Can you stop please?
Can you wait for your turn?
Can you share the shovel with Ava?
Are you okay?
Did you get hurt?
Is your tummy feeling better?
Do you want to try again?
Can you find a partner?
Can you line up by the door?
Would you like to paint today?
Do you want to sit by me?
Can you get the broom for me?
Can I see your hands?
Who needs a tissue?
Who's ready for snack?
Who wants to help water the plants?
Who remembered their library book?
Can you zip your coat up?
Do you have to go potty?
Can you roll up your sleeves?
Are you cold?
Can you put the lid back on the marker?
Will you pass the napkins around?
Did you put your name on it?
Can you hand out the cups?
Can you count with me?
Can you clap it with me?
Can you say that again?
Did you hear the bell?
Is it time to clean up?
Are we all here?
Can you be gentle with the bunny?
Can you stand up?
Could you turn the page for me?
Can you put the books back on the shelf?
Can you bring your plate to the sink?
Are you warm enough?
Do you want to wear your mittens?
Can you walk please?
Will you come sit on the carpet?
Can you keep the sand in the sandbox?
Can you put your hand up if you want a turn?
Is anyone still eating?
Do you need a new piece of paper?
Can you try to open it yourself?
Are you sleepy?
Do you want your blanket?
Can you lie down on your mat?
Did you drink your milk?
Do you want more crackers?
Is your coat on the hook?
Can you help Mia find her shoe?
Can you put the caps on the glue sticks?
Would you pass me the paper towels?
Can you scoot back a little?
Can you make some room for Omar?
Are you ready to listen?
Can you keep your hands to yourself?
Can everybody see the book?
Can you hear me at the back?
Did everyone get a plate?
Does everyone have a crayon?
Who still needs a cup?
Who's missing their shoes?
Who wants to be the door holder?
Who's going to help set the table?
Can I help you with that?
Can you put on your smock first?
Do you want to go to the art table or the blocks?
Are you all done with the puzzle?
Are you waiting for the swing?
Is it my turn now?
Have you had a turn yet?
Did you say thank you?
Can you use a tissue please?
Can you sit on your bottom?
Could you put the trucks in the bin?
Can you take a deep breath with me?
Will you please wait here?
Can you hold my hand while we cross?
Can we all stand in a circle?
Can you find a book and sit down?
Do you need to blow your nose?
Can you put your cup in the tub?
Can you turn the water off?
Could you close the door please?
Can you carry the basket?
Are you staying for lunch today?
Is your mum coming to get you?
Did you bring your boots?
Do you need a plaster?
Can you wipe your nose?
Do you want a hug?
Can I sit here?
Can you pick up the pieces on the floor?
Can you tell Sam it's time to come in?
Would you like to be the line leader?
Are you coming to the circle?
Can everyone put their eyes on me?
Can you move your chair closer?
Can you give the marker to Kai when you're done?
Can you get your backpack?
Are you being a good listener?
Can you use gentle hands?
Are your shoes on the right feet?
Can you try one more bite?
Do you want milk or water today?
Do you want to help me stir?
Can you wash the paintbrush?
Can you open the curtains?
Can you ring the bell for clean up?
Can we try that again with inside voices?
Did you finish your snack?
Do you need a break?
Is it too loud in here for you?
""")

# =====================================================================
# CEQ -- tag questions (style 5)
# =====================================================================
add("CEQ", "tag", """
That's a circle, right?
It's cold today, isn't it?
You're done, yeah?
That was fun, wasn't it?
This one's heavier, isn't it?
You like strawberries, don't you?
The bunny is so soft, isn't he?
We have to be gentle, right?
That's your brother's jacket, isn't it?
You made that all by yourself, didn't you?
It's raining again, isn't it?
The water's too hot, huh?
The tower fell, didn't it?
That's a big worm, isn't it?
You're going to paint the roof next, right?
It's your turn after Sam, okay?
We wash our hands before snack, don't we?
That's the letter M, right?
You went to the park yesterday, didn't you?
The snail is moving, isn't it?
Those are your new shoes, aren't they?
That's a triangle, isn't it?
You're feeling a bit tired, aren't you?
That one floated, didn't it?
The frog jumped really high, didn't he?
You've been to the farm before, haven't you?
We can fix it, can't we?
It's too slippery, isn't it?
The ice melted, didn't it?
This book is about bears, right?
You wanted the green one, didn't you?
There are five ducks, right?
It's almost time for lunch, isn't it?
You can reach it, can't you?
That's Maya's painting, isn't it?
You're building a garage, right?
It's a bit windy, huh?
That goes in the red bin, doesn't it?
The sun is really bright today, isn't it?
He's a friendly dog, isn't he?
You remembered your hat, didn't you?
The paint is still wet, isn't it?
That one's yours, yeah?
We're all done now, right?
It smells good, doesn't it?
You're the line leader today, aren't you?
That was a loud noise, wasn't it?
This is the biggest pumpkin, isn't it?
The baby is sleeping, isn't she?
You tried really hard, didn't you?
It's sticky, isn't it?
You're ready, right?
Those are caterpillars, aren't they?
The bell rang, didn't it?
That's a lot of sand, isn't it?
You like the swings, don't you?
It doesn't fit, does it?
The car can't go up the hill, can it?
You haven't had a turn yet, have you?
She's not crying anymore, is she?
You don't want any more, do you?
The bird isn't in the nest, is it?
Those aren't your boots, are they?
That's a number seven, yeah?
We read this one yesterday, didn't we?
The seeds need water, don't they?
It's a square, right?
This is a bee, isn't it?
You drew your whole family, didn't you?
It's heavy, huh?
That's the same as mine, isn't it?
You heard the thunder, didn't you?
That's enough glue, right?
You washed your hands already, yeah?
It's bedtime for the dolls, isn't it?
The puzzle's finished, isn't it?
The bear was hungry, wasn't he?
Snow is cold, isn't it?
Your tooth is wiggly, isn't it?
You've got two sisters, haven't you?
That's a horse, right?
The pig's house was made of straw, wasn't it?
It's your birthday soon, isn't it?
You're sitting next to Luca, right?
The hamster's asleep, isn't he?
This one's the loudest, isn't it?
That's a mixing bowl, isn't it?
We're going outside after this, right?
The fish eats flakes, doesn't it?
You'll share it with Hana, won't you?
That hurt, didn't it?
You put on your coat by yourself, didn't you?
It's getting dark early now, isn't it?
You know this song, don't you?
That's the red team's ball, right?
That's a beautiful rainbow, isn't it?
We planted these last week, didn't we?
Six is more than four, right?
That's a tall one, huh?
These are bumpy, aren't they?
It tastes sour, doesn't it?
You're the doctor today, right?
The lid's stuck, isn't it?
The tap is off, isn't it?
It's finally sunny, isn't it?
Those leaves are crunchy, aren't they?
Your name starts with a J, right?
You're four now, aren't you?
That one's broken, isn't it?
You're good at climbing, aren't you?
That was a lot of stairs, wasn't it?
The guinea pig likes carrots, doesn't he?
This is your first time painting with sponges, isn't it?
It's loud in here today, isn't it?
That's enough water, okay?
The music is too loud, isn't it?
You want to come with me, yeah?
It's round, isn't it?
""")

# =====================================================================
# CEQ -- either/or questions (style 6)
# =====================================================================
add("CEQ", "either_or", """
Do you want the red one or the blue one?
Is it a cat or a dog?
Do you want apples or crackers?
Is it heavy or light?
Will it sink or float?
Should we go inside or stay out a bit longer?
Do you want to paint or draw?
Is the water hot or cold?
Is this a square or a rectangle?
Is the tiger big or small?
Do you want the big brush or the little brush?
Is it day or night in this picture?
Should we read the dinosaur book or the bear book?
Is the bunny a boy or a girl?
Is your tower taller or shorter than mine?
Do you want to be the mummy or the baby?
Do you want to go on the slide or the swing?
Is that a B or a D?
Did the ball go up or down?
Is it rough or smooth?
Is the pumpkin orange or green?
Do you want to sit on the chair or on the floor?
Is the sand wet or dry?
Should we use glue or tape?
Is it a six or a nine?
Do you want to hold it or should I?
Was it the wolf or the pig who knocked on the door?
Does it go on the top or the bottom?
Is this yours or Emma's?
Do you want your sandwich cut in squares or triangles?
Is it sunny or cloudy today?
Do we need more or less water?
Should we put it in the sun or the shade?
Do you want to wear the fireman hat or the chef hat?
Is the snail fast or slow?
Is the baby happy or sad?
Do you want milk or juice?
Do you want to build with Lego or wooden blocks?
Is that a spider or an ant?
Is the door open or closed?
Do you want to go first or second?
Is it loud or quiet?
Should we sing the train song or the bus song?
Is it in front of the box or behind it?
Is that one more or less than five?
Do you want the stripy paper or the plain paper?
Is the giraffe tall or short?
Do you want to play inside or outside?
Did you walk or come in the car today?
Is it a real one or a pretend one?
Do you like sweet or salty better?
Are these the same or different?
Is it empty or full?
Are you hot or cold?
Should we count by ones or by twos?
Is your pet a hamster or a guinea pig?
Did the seed grow or not?
Is the caterpillar on the leaf or under it?
Should I hold it up high or down low?
Do you want it open or shut?
Is it a butterfly or a moth?
Do you want to pour or should Ben pour?
Do you want the spoon or the fork?
Is it hard or soft?
Is the ice bigger or smaller now?
Should we stack them or line them up?
Was the porridge too hot or too cold?
Do you need the glue stick or the runny glue?
Do you want to dig with the spade or your hands?
Is he climbing up or down?
Is the moon out or the sun?
Is the light on or off?
Are you a big sister or a little sister?
Do you want a whole one or half?
Is it a circle or an oval?
Do you want to water the tomatoes or the beans?
Will you be the bus driver or a passenger?
Should the car go fast or slow?
Do you want your hair in one ponytail or two?
Is that a lowercase a or a capital A?
Do you want crayons or markers?
Is it morning or afternoon?
Did you like the first song or the second one better?
Is it wet or dry now?
Do you want to feed the fish or clean the cage?
Is your dog black or brown?
Are the shoes on the right feet or the wrong feet?
Is the cake ready or does it need more time?
Is this the beginning or the end of the book?
Do you want to use the blue paint or the yellow paint?
Did it bounce or roll?
Is it a boat or a plane?
Do you want to sit with Zoe or with Mateo?
Is it a whole circle or half a circle?
Is the jar heavier or lighter now?
Is it your turn or his turn?
Shall we take the big basket or the small one?
Do you want to sing or just listen?
Is it a mouse or a rat in the story?
Is your seed in the sunny window or the dark cupboard?
Did the dough get bigger or stay the same?
Should we use the tall cup or the short cup?
Do you want stars or hearts on your crown?
Is the leaf yellow or brown?
Is it spring or winter in this picture?
Do you want to count or should I count?
Does it feel warm or cool?
Are we making cookies or muffins today?
Is it a lion or a tiger?
""")

# =====================================================================
# CEQ -- plain yes/no questions about play, books, science, etc.
# =====================================================================
add("CEQ", "yesno_closed", """
Is it red inside?
Is the snail moving?
Does the ball bounce?
Did the seed sprout yet?
Is that a red one?
Can a fish breathe out of the water?
Have you ever seen a real cow?
Is there another way?
Are there other choices?
Do you like the story?
Is the water too cold?
Does the magnet stick to the spoon?
Is your tower taller than you?
Did the caterpillar eat the leaf?
Is the bread ready yet?
Does your kitty have stripes?
Did you see the rabbit in the garden?
Is it a triangle?
Are these the same colour?
Does it fit in the box?
Is the bean taller than yesterday?
Can you hear the rain?
Did you hear the bird?
Is that your grandpa in the picture?
Do spiders have wings?
Did the ice melt yet?
Is it still snowing?
Are the leaves falling?
Does the pumpkin float?
Is the paint dry?
Did you make a pattern?
Is that a letter S?
Can the car go up the ramp?
Have you been on a train before?
Is the bird in the nest?
Did it sink?
Does a cat have whiskers?
Is the balloon getting bigger?
Does it feel soft?
Are you feeling sad?
Are you happy?
Were you scared of the thunder?
Is he being silly?
Do you have a dog at home?
Did you go swimming at the weekend?
Is your mum a nurse?
Did you ride your bike here?
Is the frog green?
Do bees sting?
Is the baby bird awake?
Can penguins fly?
Did the wolf blow the house down?
Is the bear still sleeping?
Does the truck have a ladder?
Is this puzzle too hard?
Did you put any salt in?
Is there water in the pot?
Does the hose reach?
Are there any more seeds?
Did the worm come back out?
Is the playdough too dry?
Is it windy today?
Do you see the moon?
Is it time for music?
Did we already read this book?
Is this a fruit?
Are carrots vegetables?
Does it rhyme?
Do these two match?
Is the tap dripping?
Did the shadow move?
Is there a spider in there?
Does he have a tail?
Are the eggs going to hatch today?
Is the light still on?
Did you draw that?
Is it finished?
Is it broken?
Can you see it from there?
Do you like the smell?
Is the soup too spicy?
Is this one bigger?
Is it longer than your arm?
Did you find a worm?
Does it make a noise?
Did the bubbles pop?
Is that enough?
Was the giant nice?
Do you know that song?
Have you seen my keys?
Is it sticky?
Is it your birthday today?
Do you have a brother?
Is that a dinosaur?
Is your boat floating?
Is the hole deep enough?
Did you mix the colours?
Does the clock say three?
Is the pattern red, blue, red, blue?
Do we have enough chairs?
Are there more girls or boys today?
Does this one have more?
Did you count them all?
Are they all the same size?
Is the lid on tight?
Has the water started boiling?
Is the flower open?
Did the butterfly come out yet?
Did it break when it fell?
Is that a crow?
Was it a big storm?
Does your grandma live far away?
Do you like broccoli?
Are your socks wet?
Did you fall?
Do you want to see?
Is there any more room in the bus?
Would the elephant fit in the car?
Is the sun hot?
Does it have four legs?
Can you whistle?
Can you hop on one foot?
Can you reach the top shelf?
Can you see your shadow?
Can you write your name?
Do you know how to tie your shoes?
Is he your best friend?
Is it bigger than a cat?
Have you finished the picture?
Did the music stop?
Were there three bears?
Does the dinosaur have sharp teeth?
Is there sand in your shoe?
Do you hear that?
Is the glue dry now?
Is the car stuck?
Does the ladybug have spots?
Was the little pig sad?
Is the chick fluffy?
Is it empty?
Are there any red ones left?
Does your tower have a door?
Is that a real bone?
Did you say it was a dragon?
""")

# =====================================================================
# OEQ -- statement first, then an open question/prompt (style 4)
# =====================================================================
add("OEQ", "context_open", """
It's very heavy. Why was it heavy?
I see you used a lot of blue. Tell me about that.
Your tower fell down. What do you think happened?
Look, the ice is getting smaller. Why do you think that is?
Oh, the bean has roots now. What do you notice about them?
We put the seeds in the dark cupboard. What do you think will happen to them?
You're holding the baby so carefully. How do you think she feels?
The boat sank. How could we make it float?
I see lots of footprints in the snow. Who do you think made them?
You mixed red and white. What happened to the colour?
The wolf is knocking on the door. What do you think the pigs will do?
This rock has sparkly bits in it. What does it make you think of?
You've been working on that for a long time. Tell me about your plan.
The leaves are all different colours now. Why do you think they changed?
It's raining really hard. How do you think the worms feel?
Your car went all the way to the wall. How did you make it go so far?
I see you're frowning. What's going on?
The dough is really sticky. What could we add to fix it?
We have flour, water and salt. What do you think we can make?
That's a really tall tower. How did you keep it from falling?
The bird is carrying sticks. What do you think it's doing?
You and Ava both want the truck. What could we do?
This shell is bumpy and this one is smooth. How else are they different?
We dropped the feather and the block at the same time. What did you notice?
You made a pattern with the beads. How did you decide what comes next?
The caterpillar stopped eating. What do you think it's getting ready for?
I hear a funny sound. What do you think it could be?
The sunflower is leaning toward the window. Why might it do that?
The clay got hard overnight. What do you think happened?
You're using the magnifying glass. What can you see?
The water's all gone from the bowl. Where do you think it went?
Your picture has a big yellow sun. Tell me about the rest of it.
We read about the hungry caterpillar. What would you eat if you were a caterpillar?
The puppet looks sad. What could we say to make him feel better?
There's a puddle under the ice cube. How did it get there?
You built a bridge with the blocks. Show me how the cars get across.
We've got lots of leaves. How could we sort them?
The ramp is really steep now. What do you think will happen to the ball?
I see you put the big animals together. Tell me how you sorted them.
You said it's a spaceship. Tell me where it's flying to.
Oh no, the paint ran down the page. Why do you think it did that?
Some of the apples are floating and some sank. What do you notice about them?
The bubbles are blowing away. Where do you think they'll go?
We planted the bulbs in the autumn. What do you think is happening under the soil?
You've been quiet today. How are you feeling?
You used so many different shapes. How did you fit them together?
This picture shows a storm. How do you think the people feel?
The baby chick is pecking at the shell. What do you think it's trying to do?
The little pig built his house with bricks. Why was that a good idea?
It's snowing outside. What could we build with the snow?
I notice you keep going back to the water table. What do you like about it?
You said the worm was tickly. What else did it feel like?
The milk in the jug smells funny. Why do you think that is?
The marble keeps falling off the track. What could we change?
There's a spider web on the fence. How do you think the spider made it?
This is a picture of a very old house. How is it different from your house?
You put the heavy block on the end. What happened to the seesaw?
The bread went up in the oven. What do you think made it rise?
We've been watching the tadpoles. What changes have you seen?
Your friend is crying. What do you think might help her?
You painted the sky green. Tell me about your choice.
These two pictures look almost the same. What's different?
Hmm, the tape won't stick to the wet paper. What else could we try?
It's a new puzzle. How will you figure out where to start?
The snail left a shiny trail. How do you think the snail makes it?
We've got two kinds of apples here. How are they the same?
Look at all these tracks in the sand. What story do they tell?
You finished the whole puzzle. What helped you?
The tomato plant is getting really tall. What do you think it needs now?
The music is getting faster. How does it make your body want to move?
It's the end of the story. What do you think the bear does tomorrow?
Your sandcastle keeps falling down. What could make it stronger?
I see two birds at the feeder. What do you think they're saying to each other?
The balloon went flat. What happened to the air?
You've got a lot of ideas. Which one should we try first and why?
We can't go outside today. What could we do instead?
You're pretending to be a doctor. What's wrong with your patient?
This ice has something frozen inside. How could we get it out?
The seeds are all different sizes. What do you think they'll grow into?
Your dragon has big wings. Tell me where he flies.
Oh, the lights went out. What do you think happened?
You keep adding water to the sand. What are you trying to make?
That sound was really loud. How did it make you feel?
The water's turning purple. Why do you think that happened?
We went to the pond yesterday. What do you remember seeing?
You stacked all the cups upside down. Tell me how you did that.
Look at the clouds moving fast. What's making them move?
The bunny ran under the bush. Why do you think he's hiding?
You made two towers. How are they different?
I see you're drawing a map. What's on your map?
Our fish tank is cloudy. What do you think we should do?
The story ended with a surprise. How did you feel about it?
Your block road is really long. Tell me about the places it goes past.
Hmm, I'm not sure it'll fit. What do you think we should try?
I noticed you helped Finn up. What made you want to help?
You're stirring the potion. What happens when you drink it?
The sun came out after the rain. What do you think we might see in the sky?
We have three kinds of bread to taste. How would you describe this one?
This is a really old key. What do you think it opened?
""")

# =====================================================================
# CEQ -- statement first, then a closed question (style 4)
# =====================================================================
add("CEQ", "context_closed", """
We have three apples. How many do we have now if I eat one?
Look at this one. Is it bigger?
I see a red car. Do you see it too?
It's raining outside. Do you need your boots?
The bell just rang. Is it time to tidy up?
This is the letter T. What sound does it make?
We need one cup for everyone. How many cups do we need?
Look at the caterpillar. Is it moving?
You painted a big sun. What colour did you use?
There are lots of blocks on the floor. Can you help me pick them up?
The music stopped. Are you ready to freeze?
Snack is almost ready. Did you wash your hands?
Here's the sticky tape. Do you want a long piece or a short piece?
It's cold outside today. Do you have your hat?
This puzzle has a lot of pieces. Is it too hard?
I found a feather. Is it soft?
Look at the clock. Is it time for lunch?
We counted five ducks yesterday. How many are there today?
This is my favourite book. Have you read it before?
The paint's getting low. Should I get some more?
Your shoe is untied. Do you want me to tie it?
There's a spider on the wall. Is it big or small?
I've got two cookies. Which one do you want?
We're going to plant seeds. Who wants to hold the watering can?
The pumpkin is really big. Can you lift it?
Here's a triangle and here's a square. Which one has three sides?
The puppy is sleeping. Should we be quiet?
I see a rainbow. How many colours can you count?
We made playdough yesterday. Do you remember?
The water is really cold. Do you want to feel it?
Look at the frog. Is it green or brown?
It's Zoe's birthday today. How old is she?
There's only one swing free. Whose turn is it?
This one is a seashell. Where did we find it?
You've got glue on your fingers. Do you need a wipe?
We're going on a bus trip tomorrow. Are you excited?
It's getting noisy in here. Can everyone use a quiet voice?
This box is full of animals. Can you find the cow?
The tower is nearly as tall as you. Is it taller than me?
The juice spilled. Can you get a cloth?
I'm going to read a story now. Is everybody sitting down?
There are two bears on this page. Which one is the daddy bear?
The leaf is really crunchy. Did you hear that?
You have four blocks and I have two. Who has more?
Here is a number on the dice. What number is it?
We are making pancakes. Do we need eggs?
This is a magnet. Will it stick to the wood?
The bus is coming. Are you ready?
Your mum packed you a banana. Do you want me to peel it?
Look at the window. Is it still raining?
I put a shell in the bag. Can you guess which one it is?
Here's the weather chart. Is it sunny today?
The sand is dry. Will it make a castle?
We planted the beans on Monday. Have they grown?
The rabbit's bowl is empty. Did someone feed him?
This is a picture of a farm. Where's the horse?
We have one more song. Are you ready to sing?
It's Jamal's turn now. Can you pass him the ball?
The glue stick is dried up. Do you want a new one?
This is a hexagon. How many sides does it have?
I see you found a ladybug. How many spots does it have?
The yellow bucket is full. Is the blue one full too?
That's a lot of noise. Is everybody okay?
The soup is hot. Did you blow on it?
This block is long and this one is short. Which one is longer?
We're out of paper. Can you get some from the shelf?
I brought in my cat's collar. What colour is it?
The story is about a mouse. What's his name?
We need to go inside now. Can you put the bikes away?
Your friend is sad. Do you want to give her a hug?
The big hand is on the twelve. Is it lunchtime?
The tomato is red now. Is it ready to pick?
Look, the snow is melting. Is it warmer today?
The dog has a bone. Is he happy?
Here are the scissors. Can you cut on the line?
There's one cracker left. Do you want it?
It says stop on the sign. What letter does stop start with?
This is the moon. Is it day or night?
We mixed red and blue. Did it make purple?
The fish is swimming. Does it have fins?
We need to share the paint. Can you give some to Isla?
I'm thinking of an animal that says quack. What is it?
This caterpillar is fuzzy. Do you want to touch it?
The ice cream is melting. Should we eat it fast?
Our class has twenty friends. How many are here today?
The slide is wet. Should we wait until it dries?
I heard a knock. Is someone at the door?
This page is ripped. Can we tape it?
The balloon is blue. What colour is yours?
That's a really big jump. Did you land on your feet?
Look at the worm. Is it long?
The lights are off. Can you see anything?
Here's a red crayon. Do you want to draw with it?
We've got a new fish. What should we call it, Goldie or Bubbles?
The cake needs to bake. Should we set the timer?
""")

# =====================================================================
# Short fragments typical of transcripts (style 12)
# =====================================================================
add("OEQ", "fragment_open", """
And why?
~How come?
What else?
~What happened?
And then what?
How so?
Why not?
~Why?
~How?
Like what?
What for?
Then what happened?
And what did he do?
~How did that happen?
And how?
Why's that?
How come it fell?
What do you mean?
What else do you see?
And what happened next?
How'd you do that?
~What do you think?
And what do you think?
Why do you think?
Tell me more.
Say more.
What's happening?
What's going on?
And after that?
What did you find?
What's your idea?
What could it be?
Why's it doing that?
What's different?
How'd it get there?
What made it do that?
Why do you say that?
What are you making?
~What are you thinking?
How do you know?
What did you see?
What if it rains?
What if we try it?
~How does it feel?
~What else could we try?
""")

add("CEQ", "fragment_closed", """
Which one?
This one?
More?
Yeah?
All done?
Ready?
Okay?
Right?
Really?
Finished?
Need help?
This or that?
~How many?
What colour?
Where?
Who's next?
Your turn?
Again?
Got it?
Is it?
Did you?
Mine?
The big one?
Red or blue?
Up or down?
Same or different?
One more?
Here?
That one?
You sure?
In here?
On top?
Done?
Is that all?
Anything else?
Want some?
All of them?
Too loud?
Too hot?
Inside?
Whose is this?
What's this?
How old?
What letter?
Which way?
Is it yours?
Is that it?
Any more?
Hungry?
Is it wet?
Who did it?
Where's it go?
""")

# =====================================================================
# Hard contrasts called out in the brief (label decided explicitly)
# =====================================================================
add("OEQ", "hard_open", """
How did you do that?
Where do you think it went?
What do you notice about these rocks?
How do you feel?
How are you feeling today?
What can you see out the window?
What are you thinking about doing next?
Who showed you how to make a paper plane?
Where did you learn about volcanoes?
How are the cat and the dog the same?
What else could we try to get the lid off?
Tell me about your idea for the fort.
What are you making for the party?
What do you think is in the box?
What happened to your tower?
What happened at recess?
What do you think the baby bird needs?
What happened to the milk when we left it out?
What do you want to be when you grow up?
Why is that your favourite?
What do you think happens next in the story?
How do you know it's a bird and not a plane?
What does it look like to you?
What does it taste like?
And why do you think so?
What's another way we could do it?
Who can tell me what a rabbit needs to be happy?
What could it be, do you think?
How would you describe your friend?
What made you laugh so much?
""")

add("CEQ", "hard_closed", """
What happened to the cup, did it fall?
How old are you?
What are you holding in your hand?
Who has the scissors right now?
Are you feeling sad today?
Is there another way to the playground?
Are there other colours?
What's the weather like today?
What is the first letter of your name?
Where are you going with the bucket?
Where does the puzzle go?
Who did this drawing?
What's in the box?
Did something happen to your tower?
Did you have fun at recess?
Does the baby bird need food?
Is that your favourite?
Do you think the wolf comes back?
Is it a bird or a plane?
Is it sweet?
Do you think so?
Can we do it another way?
Who can tell me what colour the rabbit is?
Is it a dragon?
Is your friend nice?
Did that make you laugh?
Who wants to tell me something?
What comes next in the pattern?
How many do you think are in the jar?
Which one do you like best?
""")

# =====================================================================
# More seeds: music, cooking, gardening, maths, social, transitions
# =====================================================================
add("OEQ", "open_wh", """
How does this song make you feel?
Why do you think the drum sounds different from the bells?
How could we make a sound like rain with our hands?
What kind of animal does this music remind you of?
How would a mouse dance to this song?
What do you think the song is about?
How could we make our own shakers?
What happens to the butter when it gets warm?
Why do we have to stir the batter?
What do you think the muffins will look like when they come out of the oven?
How did the cream turn into butter?
What could we add to make the soup taste better?
How does the dough change when you knead it?
Why do you think we crack the egg on the side of the bowl?
What would happen if we forgot to put the sugar in?
Why do you think the tomatoes turned red?
What do you think the worms are doing in the soil?
How could we keep the birds from eating our seeds?
What do you notice about the roots?
How do you think the carrot grows under the ground?
What would our garden need if it didn't rain for a week?
How are the pea pods different from the bean pods?
How did you work out that there are more red ones?
How could we find out how long the carpet is?
What's a way to share the twelve grapes between three friends?
How do you know your tower has more blocks than mine?
What could we use to measure the pumpkin?
How else could you make a triangle with the sticks?
What did you do to make the pattern keep going?
How could we make it fair for everyone?
What could you say to Eli if you want a turn?
How do you think Ruby felt when you took the doll?
What can we do when we feel really frustrated?
How could you and Tariq play together with the castle?
Why do you think your friend said that?
What would a good friend do in this story?
What should we do first when we get back inside?
How can we get ready for lunch really quickly?
What do you think we'll see on our nature walk?
What would you like to do at choice time and why?
What do you think the ducks do when the pond freezes?
How is today's weather different from yesterday's?
What do you think makes the wind blow?
How do you think the animals stay warm in winter?
What do you think the clouds are doing today?
Why do you think the mother bird left the nest?
How do you think the tortoise feels about being so slow?
What would happen if the hippo tried to sit on the little chair?
What makes a good hiding place?
Why would a chameleon change colour?
How do you think the dinosaurs got so big?
What would your perfect playground look like?
How would you build a trap to catch the giant?
What could be hiding in the dark forest?
What kind of shop should we make in the home corner?
Why do you think the princess wanted to be a knight?
What could the superheroes do to help the town?
How did you make the tent stay up over the chairs?
What could we use to make the doors of the bus?
Why did you put the windows so high up?
What would make your marble run more exciting?
How might we make the blocks stand up on the slope?
What happened to the paper when you put glue all over it?
How did you make the sponge prints look like that?
What other things could we paint with besides brushes?
How would your picture look if it was night time?
Why do you think the artist painted the sky swirly?
What could you add to your collage to make it feel soft?
How does the wet sand feel different from the dry sand?
What do you think would happen if we froze the bubbles?
How could we get the water from this tub to that tub without spilling?
Why does the funnel make pouring easier?
What did you notice when you squeezed the sponge?
What did you and your dad do at the market?
How did you help at home this weekend?
What do you think your baby brother will be like when he's bigger?
What's something you're really good at?
What would you like to learn about next week?
""")

add("CEQ", "closed_wh", """
What's the name of this instrument?
How many beats did you play?
What song are we singing next?
Which instrument is the loudest?
How many eggs does the recipe need?
What do we put in first, the flour or the butter?
How many cups of water did we add?
What colour is the carrot inside?
Which seeds are the sunflower seeds?
How many tomatoes are ripe?
How many days did it take to sprout?
What number is bigger, six or eight?
How many is two and two?
How many are left if one frog jumps away?
What shape is the cracker?
Which line is longer?
What comes after lunch today?
Where do the paintbrushes go?
When do we have music?
Who is the weather helper today?
Which friend is next on the list?
What day do we go swimming?
What's on the calendar for Friday?
What's the name of the mouse in the story?
What's this vegetable called?
""")

add("CEQ", "routine", """
Can you shake it softly now?
Will you pass the drum to Nora?
Can you put the instruments back in the basket?
Can you crack the egg for me?
Would you hold the bowl while I stir?
Can you wash the carrots in the sink?
Did everyone get a turn with the watering can?
Can you put on your gardening gloves?
Can you fill the watering can halfway?
Is everyone wearing an apron?
Can you tidy the book corner before we go?
Can you put your painting on the drying rack?
Have you put your folder in your bag?
Are you ready to go home?
Can you find your coat and line up?
""")

add("CEQ", "tag", """
That's a drum, isn't it?
The recipe says two eggs, doesn't it?
The carrots need more water, don't they?
We're singing the rainbow song next, aren't we?
Those tomatoes are ripe, aren't they?
You've been gardening with your nana, haven't you?
That's the number eight, right?
We have music on Thursdays, don't we?
It's nearly home time, isn't it?
That was a big sneeze, wasn't it?
""")

add("CEQ", "either_or", """
Should we play the drum fast or slow?
Do you want the shaker or the triangle?
Should we bake it or fry it?
Is it a carrot or a parsnip?
Do you want to dig or plant the seeds?
Is eight more or less than six?
Shall we sing it loud or whisper it?
Do you want to use the spoon or the whisk?
Is the dough ready or does it need more flour?
Should we plant them in a row or in a circle?
Do you want to go on the bikes or in the sandpit?
Should we take the long way or the short way back?
""")

add("OEQ", "open_prompt", """
Tell me how the song makes you feel.
Tell me what you did to make the butter.
Tell me about the seeds you planted.
Tell me what you'd do if you were the little pig.
Tell me how you worked out it was twelve.
Tell me what you think the worms need.
Describe the sound the shaker makes.
Describe what the dough feels like now.
Describe your block tower to me.
Explain how we can make it fair for everyone.
Explain how the water got into the top tub.
Show me how a snake would move to this music.
Show me how you measured it.
I wonder what the carrot looks like under the soil.
I wonder how the ducks keep warm in the cold water.
I wonder what would happen if we played it really slowly.
I wonder why the cake sank in the middle.
Let's think about what we need for our picnic.
Talk with Hugo about how you could build it together.
Tell me about a time you felt proud.
Tell me why you're putting the shells in a line.
Tell me what your family does on the weekend.
""")

add("CEQ", "either_or", """
Is the caterpillar fuzzy or smooth?
Did the pig build his house with sticks or straw?
Do you want to stand up or sit down for this song?
Is your tower on the table or the floor?
Should we go down the slide on our tummy or our bottom?
Is the kitten awake or asleep?
Do you want a sticker or a stamp?
Is that a capital letter or a small letter?
Do you want to use chalk or paint outside?
Is it a hen or a duck?
Did you hear a bird or a plane?
Shall we read it now or after lunch?
Is this the front or the back of the book?
Does the bean go in the cup or the bag?
Should we feed the fish now or later?
""")

# longer run-on turns, as educators actually talk (both labels)
add("OEQ", "context_open", """
Okay so yesterday we put the ice cubes on the windowsill and this morning there's just water in the tray. What do you think happened to them overnight?
I can see you've been building this for a really long time and it's got lots of different parts. Can you tell me about the part at the top?
Remember when we read the story about the little seed that blew away in the wind? Where do you think our seeds would go if the wind took them?
You and Marcus both had the idea to make a zoo, and now you've got two zoos next to each other. How could you put them together into one big zoo?
We tried the paper boat and the foil boat, and the foil one held more pennies before it sank. Why do you think the foil boat worked better?
So the caterpillar has been hanging upside down for three days and now it's gone all hard and brown. What do you think is going on inside?
When we went outside this morning the grass was all wet but it didn't rain last night. Where do you think the water came from?
I noticed you were playing by yourself at the sand table today, and it looked like you were thinking really hard. What were you thinking about?
Some of you said the big ball would roll farther and some of you said the little ball would. How could we find out who's right?
You told me your grandma is coming to visit on the weekend and you're going to bake together. What do you think you'll make with her?
Right, we've got flour and sugar and butter and eggs all lined up on the table here. What do you think we should do first and why?
The bears came home and found their porridge eaten and their chairs broken and someone in the bed. How do you think baby bear felt when he saw that?
""")

add("CEQ", "context_closed", """
Okay so yesterday we put the ice cubes on the windowsill and this morning there's just water in the tray. Did they all melt?
I can see you've been building this for a really long time and it's got lots of different parts. Are you nearly finished?
Remember when we read the story about the little seed that blew away in the wind? Do you remember what colour the flower was at the end?
We tried the paper boat and the foil boat, and the foil one held more pennies before it sank. How many pennies did it hold?
So we're going to go outside in a few minutes but it's really cold today and it's a bit wet on the grass. Has everybody got their boots on?
When the music stops you need to find a hoop and stand inside it, and if you're not in a hoop you sit down. Is everyone ready?
We've got ten apples here for snack and there are twelve friends at the table today. Do we have enough apples for everyone?
Alright friends, it's nearly time to tidy up, so when you hear the song you put the blocks back on the shelf where they live. Can everyone do that?
I'm going to hide the teddy somewhere in the room while you close your eyes, and then you can go and look for it. Are your eyes closed?
Okay, this page has got lots of animals on it, there's a cow and a sheep and a pig and a horse. Which one says baa?
""")


# =====================================================================
# Transcript-style surface transforms
# =====================================================================
NAMES = [
    "Maya", "Jordan", "Leo", "Aisha", "Sam", "Priya", "Noah", "Zoe", "Mateo",
    "Lily", "Omar", "Ava", "Kai", "Sofia", "Eli", "Nia", "Ben", "Mia", "Jayden",
    "Hana", "Luca", "Amara", "Theo", "Isla", "Ravi", "Chloe", "Diego", "Emma",
    "Finn", "Grace", "Hugo", "Ivy", "Jamal", "Kiara", "Liam", "Mei", "Nora",
    "Oscar", "Ruby", "Yusuf", "Tariq", "Elsie", "Marcus", "Layla", "Arjun",
]
# discourse markers / fillers that educators really use; shared by both labels
FILLERS = [
    "Um", "Uh", "Okay so", "So", "Well", "Hmm", "Oh", "Alright", "Now", "Hey",
    "Look", "Okay", "And", "Oh wow", "Mm", "So um", "Alright friends",
    "Okay everybody", "Friends", "Wait", "Right so", "Uh huh",
    "Let's see", "Um so", "Okay um", "Yeah", "Oh okay", "And um", "Now then",
    "Ooh", "Hmm okay", "Okay now", "Oh my goodness", "Wow", "Mhm", "So now",
]
KEEP_CAPITAL = {"I", "I'm", "I'd", "I've", "I'll", "Goldilocks", "Mama"} | set(NAMES)
ASR_SUBS = [
    (r"\bgoing to\b", "gonna"),
    (r"\bwant to\b", "wanna"),
    (r"\bdo you want\b", "d'you want"),
    (r"\bbecause\b", "cause"),
    (r"\bgot to\b", "gotta"),
    (r"\bkind of\b", "kinda"),
    (r"\blet me\b", "lemme"),
]


def norm(text: str) -> str:
    """Key used for de-duplication: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def rng_for(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16))


def decap(text: str) -> str:
    first = text.split(" ", 1)[0].rstrip(",.?!")
    if first in KEEP_CAPITAL:
        return text
    return text[:1].lower() + text[1:]


def with_filler(text: str, rng: random.Random) -> str:
    """Prefix a filler / name, or tag a child's name onto the end."""
    mode = rng.random()
    name = rng.choice([n for n in NAMES if n not in text])
    filler = rng.choice(FILLERS)
    if mode < 0.45:
        return f"{filler}, {decap(text)}" if rng.random() < 0.6 else f"{filler} {decap(text)}"
    if mode < 0.65:
        return f"{name}, {decap(text)}"
    if mode < 0.80:
        return f"{filler} {name}, {decap(text)}"
    # name at the end: "..., Jordan?"
    if text[-1:] in "?.!":
        return f"{text[:-1]}, {name}{text[-1]}"
    return f"{text}, {name}"


def asr(text: str, rng: random.Random, disfluent: bool = True) -> str:
    """Render as lower-case ASR output with no punctuation."""
    t = text.lower()
    for pattern, repl in ASR_SUBS:
        if re.search(pattern, t) and rng.random() < 0.5:
            t = re.sub(pattern, repl, t)
    t = re.sub(r"[?.!,;:\"()\u2014-]+", " ", t)
    if rng.random() < 0.5:
        t = t.replace("'", "")
    words = t.split()
    r = rng.random() if disfluent else 1.0
    if len(words) >= 4 and r < 0.10:          # "what what do you think"
        words = words[:1] + words
    elif len(words) >= 5 and r < 0.16:        # "is it is it red"
        words = words[:2] + words
    return " ".join(words)


# How many extra surface variants each category contributes (probability of an
# extra filler/name variant, beyond the one primary rendering of the seed).
EXTRA = {
    "open_wh": 0.04, "open_prompt": 0.22, "yesno_open": 0.50, "context_open": 0.25,
    "hard_open": 0.40, "fragment_open": 1.40,
    "closed_wh": 0.04, "routine": 0.12, "tag": 0.50, "either_or": 0.40,
    "yesno_closed": 0.03, "yesno_contrast": 0.30, "context_closed": 0.20,
    "hard_closed": 0.40, "fragment_closed": 1.40,
}


def render(label: str, category: str, text: str, bare_ok: bool = True) -> list[tuple[str, str]]:
    """Return [(surface_text, form)] for one seed; form in tidy/asr/filler/filler_asr."""
    rng = rng_for(label, category, text)
    out: list[tuple[str, str]] = []
    r = rng.random()
    if not bare_ok:
        r = 0.72 + 0.28 * r
    if r < 0.42:
        out.append((text, "tidy"))
    elif r < 0.72:
        out.append((asr(text, rng), "asr"))
    elif r < 0.88:
        out.append((with_filler(text, rng), "filler"))
    else:
        out.append((asr(with_filler(text, rng), rng, False), "filler_asr"))
    extra = EXTRA[category]
    n_extra = int(extra) + (1 if rng.random() < extra - int(extra) else 0)
    for _ in range(n_extra):
        v = with_filler(text, rng)
        if rng.random() < 0.5:
            out.append((asr(v, rng, False), "filler_asr"))
        else:
            out.append((v, "filler"))
    return out


def build() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for label, category, text, bare_ok in SEEDS:
        for surface, form in render(label, category, text, bare_ok):
            key = norm(surface)
            if key in seen:
                if seen[key] != label:
                    raise SystemExit(f"label conflict on {surface!r}")
                continue
            seen[key] = label
            rows.append({"text": surface, "label": label, "seed": text,
                         "category": category, "form": form})
    # stable, edit-insensitive order
    rows.sort(key=lambda r: hashlib.sha256(norm(r["text"]).encode()).hexdigest())
    return rows


STYLE_OF_CATEGORY = {
    "context_open": "4 statement then question", "context_closed": "4 statement then question",
    "tag": "5 tag question", "either_or": "6 either/or",
    "closed_wh": "7 closed wh", "routine": "8 routine request/check",
    "yesno_open": "9 yes/no opening (open, or closed contrast)",
    "yesno_contrast": "9 yes/no opening (open, or closed contrast)",
    "open_prompt": "10 open prompt, no question form", "open_wh": "11 open wh",
    "fragment_open": "12 short fragment", "fragment_closed": "12 short fragment",
    "hard_open": "hard contrast pairs", "hard_closed": "hard contrast pairs",
    "yesno_closed": "plain yes/no (other)",
}


def styles(row: dict[str, str]) -> list[str]:
    """Styles a row belongs to (surface styles 1-3 overlap with content styles 4-12)."""
    out = [STYLE_OF_CATEGORY[row["category"]]]
    if row["form"] == "tidy" and "?" in row["text"]:
        out.append("1 tidy written with '?'")
    if row["form"] in ("asr", "filler_asr"):
        out.append("2 lower-case ASR, no punctuation")
    if row["form"] in ("filler", "filler_asr"):
        out.append("3 filler / discourse marker / name")
    return out


def print_stats(rows: list[dict[str, str]]) -> None:
    from collections import Counter
    per = Counter()
    for r in rows:
        for s in styles(r):
            per[(s, r["label"])] += 1
    print(f"{'style':48s} {'OEQ':>5s} {'CEQ':>5s} {'all':>5s} {'%':>6s}")
    for s in sorted({k[0] for k in per}, key=lambda x: (not x[0].isdigit(), int(x.split()[0]) if x[0].isdigit() else 0, x)):
        o, c = per[(s, "OEQ")], per[(s, "CEQ")]
        print(f"{s:48s} {o:5d} {c:5d} {o + c:5d} {100 * (o + c) / len(rows):5.1f}%")
    seeds_used = len({(r["label"], r["category"], r["seed"]) for r in rows})
    print(f"seeds: {len(SEEDS)}; seeds with >=1 row: {seeds_used}; "
          f"extra variant rows: {len(rows) - seeds_used}")


def main() -> None:
    import sys
    rows = build()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    # "seed" names the hand-written utterance a row was rendered from, so that the
    # training script can keep every variant of one seed on the same side of its split.
    w.writerow(["text", "label", "seed"])
    for r in rows:
        w.writerow([r["text"], r["label"], hashlib.sha256(r["seed"].encode()).hexdigest()[:10]])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.csv")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
    n_oeq = sum(r["label"] == "OEQ" for r in rows)
    print(f"wrote {len(rows)} rows to {path}: OEQ={n_oeq} CEQ={len(rows) - n_oeq}")
    if "--stats" in sys.argv[1:]:
        print_stats(rows)


if __name__ == "__main__":
    main()
